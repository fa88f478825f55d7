"""Attendance percentage and the persistent / severe absence rules."""

from collections.abc import Iterable
from dataclasses import dataclass

from bot import codes

PERSISTENT_ABSENCE = 10.0  # % of possible sessions missed
SEVERE_ABSENCE = 50.0


@dataclass(frozen=True)
class Tally:
    possible: int
    attended: int
    authorised: int
    unauthorised: int

    @property
    def percent(self) -> float | None:
        """Attendance % = (present + approved education) / possible; None with no possible sessions."""
        if not self.possible:
            return None
        return round(100.0 * self.attended / self.possible, 2)

    @property
    def absence_percent(self) -> float | None:
        if not self.possible:
            return None
        return round(100.0 * (self.authorised + self.unauthorised) / self.possible, 2)

    @property
    def persistent(self) -> bool:
        return self.absence_percent is not None and self.absence_percent >= PERSISTENT_ABSENCE

    @property
    def severe(self) -> bool:
        return self.absence_percent is not None and self.absence_percent >= SEVERE_ABSENCE


def tally(marks: Iterable[str]) -> Tally:
    possible = attended = auth = unauth = 0
    for raw in marks:
        cat = codes.category(raw)
        if cat is codes.Category.NOT_POSSIBLE:
            continue
        possible += 1
        if cat in codes.ATTENDED_CATEGORIES:
            attended += 1
        elif cat is codes.Category.AUTHORISED:
            auth += 1
        else:
            unauth += 1
    return Tally(possible, attended, auth, unauth)


def percent(marks: Iterable[str]) -> float | None:
    return tally(marks).percent
