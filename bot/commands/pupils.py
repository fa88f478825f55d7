"""Finding the pupil a member of staff means, only ever inside their own school.

PUPIL may be ``#<id>`` (what a choice button sends), a UPN, an MIS id or a name. Names match
exactly first, then by the start of each word ("amel kh"), then by spelling distance with
rapidfuzz; several candidates raise ``Ambiguous`` with choices for buttons.
"""

import re
from dataclasses import dataclass

from rapidfuzz import fuzz
from sqlmodel import Session, func, select

from bot.errors import Ambiguous, NotFound, PermissionDenied, UserError
from bot.pupils import label, year_label
from storage.models import Pupil

UPN = re.compile(r"^[A-Z]\d{11}[0-9A-Z]$")
MAX_CHOICES = 5
FUZZY_CUTOFF = 78.0
FUZZY_BAND = 6.0  # candidates this close to the best score are all offered


@dataclass(frozen=True)
class _Cand:
    id: int
    first: str
    preferred: str | None
    last: str

    @property
    def names(self) -> list[str]:
        out = [f"{self.first} {self.last}"]
        if self.preferred and self.preferred != self.first:
            out.append(f"{self.preferred} {self.last}")
        return [n.lower() for n in out]


def resolve(session: Session, *, school_id: int, ref: str) -> Pupil:
    ref = " ".join((ref or "").split())
    if not ref:
        raise NotFound("Which pupil? Give a name, a UPN or an MIS id.")
    one = _by_id(session, school_id, ref)
    if one is not None:
        return one
    ids = _by_name(session, school_id, ref)
    if len(ids) == 1:
        return session.get(Pupil, ids[0])
    if not ids:
        raise NotFound(
            f"I can't find a pupil matching '{ref[:40]}' in your school. "
            "Try the full name, the UPN or the MIS id."
        )
    pupils = session.exec(select(Pupil).where(Pupil.id.in_(ids[:MAX_CHOICES]))).all()
    by_id = {p.id: p for p in pupils}
    choices = [(str(i), label(by_id[i])) for i in ids[:MAX_CHOICES] if i in by_id]
    more = f" (showing {MAX_CHOICES} of {len(ids)})" if len(ids) > MAX_CHOICES else ""
    raise Ambiguous(f"Several pupils match '{ref[:40]}'{more}. Which one?", choices)


def _by_id(session: Session, school_id: int, ref: str) -> Pupil | None:
    if ref.startswith("#") and ref[1:].isdigit():
        p = session.get(Pupil, int(ref[1:]))
        if p is None:
            raise NotFound("I can't find that pupil.")
        if p.school_id != school_id:
            raise PermissionDenied("Sorry, that pupil is not in your school.")
        return p
    if " " in ref:
        return None
    if UPN.match(ref.upper()):
        p = session.exec(select(Pupil).where(Pupil.school_id == school_id, Pupil.upn == ref.upper())).first()
        if p is not None:
            return p
    return session.exec(select(Pupil).where(Pupil.school_id == school_id, Pupil.mis_id == ref)).first()


def _by_name(session: Session, school_id: int, ref: str) -> list[int]:
    """Matching pupil ids, best first."""
    want = ref.lower()
    exact = session.exec(
        select(Pupil.id)
        .where(
            Pupil.school_id == school_id,
            Pupil.on_roll,
            (func.lower(Pupil.first_name + " " + Pupil.last_name) == want)
            | (
                func.lower(func.coalesce(Pupil.preferred_name, Pupil.first_name) + " " + Pupil.last_name)
                == want
            ),
        )
        .order_by(Pupil.id)
    ).all()
    if exact:
        return list(exact)
    rows = session.exec(
        select(Pupil.id, Pupil.first_name, Pupil.preferred_name, Pupil.last_name).where(
            Pupil.school_id == school_id, Pupil.on_roll
        )
    ).all()
    cands = [_Cand(*r) for r in rows]
    words = want.split()
    prefix = [c for c in cands if any(_prefixes(words, n.split()) for n in c.names)]
    if prefix:
        return [c.id for c in sorted(prefix, key=lambda c: (c.last.lower(), c.first.lower()))]
    scored = []
    for c in cands:
        score = max(
            max(
                fuzz.token_sort_ratio(want, n),
                fuzz.ratio(want, n.split()[0]),
                fuzz.ratio(want, n.split()[-1]),
            )
            for n in c.names
        )
        if score >= FUZZY_CUTOFF:
            scored.append((score, c))
    if not scored:
        return []
    best = max(s for s, _ in scored)
    close = sorted(
        (x for x in scored if x[0] >= best - FUZZY_BAND), key=lambda x: (-x[0], x[1].last, x[1].first)
    )
    return [c.id for _, c in close]


def _prefixes(words: list[str], name_words: list[str]) -> bool:
    """Every typed word starts a different word of the name, in order ("amel kh" ~ "amelia khan")."""
    j = 0
    for w in words:
        while j < len(name_words) and not name_words[j].startswith(w):
            j += 1
        if j == len(name_words):
            return False
        j += 1
    return True


# --------------------------------------------------------------------------------------------------
# Classes and year groups named in a filter
# --------------------------------------------------------------------------------------------------


def _class_key(name: str) -> str:
    """``4 Birch``, ``4birch`` and ``4-BIRCH`` are one class: case, spaces and hyphens don't matter."""
    return re.sub(r"[\s\-_.]+", "", name).casefold()


def resolve_class(session: Session, *, school_id: int, name: str) -> str:
    """The school's own spelling of the class staff typed; an unknown class is an error listing them.

    A filter that matched nothing would answer "no unexplained absences", an all-clear nobody
    checked. So the name must be one of the classes pupils on roll are in.
    """
    classes = sorted(
        set(
            session.exec(
                select(Pupil.class_name).where(
                    Pupil.school_id == school_id, Pupil.on_roll, Pupil.class_name.is_not(None)
                )
            ).all()
        ),
        key=str.casefold,
    )
    wanted = _class_key(name)
    for known in classes:
        if _class_key(known) == wanted:
            return known
    if not classes:
        raise UserError("Your school's pupils have no classes recorded, so there is nothing to filter by.")
    close = [
        c
        for c in classes
        if wanted and (wanted in _class_key(c) or fuzz.ratio(wanted, _class_key(c)) >= FUZZY_CUTOFF)
    ]
    hint = f" Did you mean {' or '.join(close[:3])}?" if close else ""
    raise UserError(f"There is no class '{name}' in your school.{hint} Classes: {', '.join(classes)}.")


def check_year(session: Session, *, school_id: int, year: int) -> None:
    """A year group with no pupils on roll is a typo, not an all-clear."""
    found = session.exec(
        select(Pupil.id).where(Pupil.school_id == school_id, Pupil.on_roll, Pupil.year_group == year).limit(1)
    ).first()
    if found is None:
        rows = session.exec(select(Pupil.year_group).where(Pupil.school_id == school_id, Pupil.on_roll)).all()
        years = sorted({y for y in rows if y is not None})
        names = ", ".join(year_label(y) for y in years) or "none recorded"
        raise UserError(f"Your school has no pupils in {year_label(year)}. Year groups: {names}.")
