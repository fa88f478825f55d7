"""What one run of a job did, as the clock logs it, the ``JobRun`` row stores it and the CLI prints it.

Every job returns a ``JobSummary``: counts by name (``cases_opened: 3``), a few details that are not
counts (the report's file), or the reason it did nothing (``skipped``: not a school day).
"""

from collections.abc import Mapping
from dataclasses import dataclass, field


@dataclass(frozen=True)
class JobSummary:
    counts: Mapping[str, int] = field(default_factory=dict)
    details: Mapping[str, str] = field(default_factory=dict)
    skipped: str | None = None

    @classmethod
    def skip(cls, why: str) -> "JobSummary":
        return cls(skipped=why)

    def __getitem__(self, name: str) -> int:
        return self.counts[name]

    def get(self, name: str, default: int = 0) -> int:
        return self.counts.get(name, default)

    def __add__(self, other: "JobSummary") -> "JobSummary":
        """Two passes of one job (the sender's rounds): counts add up, details of the later win."""
        counts = dict(self.counts)
        for name, n in other.counts.items():
            counts[name] = counts.get(name, 0) + n
        return JobSummary(
            counts=counts,
            details={**self.details, **other.details},
            skipped=self.skipped if self.skipped == other.skipped else None,
        )

    @property
    def did_something(self) -> bool:
        return self.skipped is None and any(self.counts.values())

    def as_dict(self) -> dict:
        if self.skipped is not None:
            return {"skipped": self.skipped}
        return {**self.counts, **self.details}

    def __str__(self) -> str:
        if self.skipped is not None:
            return f"skipped: {self.skipped}"
        parts = [f"{name.replace('_', ' ')}: {value}" for name, value in self.as_dict().items()]
        return ", ".join(parts) or "nothing to do"
