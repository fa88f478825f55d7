"""Who did something: a staff member or the system. Every audit row names one."""

from dataclasses import dataclass

from storage.models import Staff


@dataclass(frozen=True)
class Actor:
    name: str
    role: str
    staff_id: int | None = None
    school_id: int | None = None

    @classmethod
    def of(cls, staff: Staff) -> "Actor":
        return cls(name=staff.name, role=staff.role, staff_id=staff.id, school_id=staff.school_id)

    @property
    def label(self) -> str:
        return f"{self.name} ({self.role.replace('_', ' ')})"


SYSTEM = Actor(name="system", role="system")
