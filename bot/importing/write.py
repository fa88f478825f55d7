"""Writing an import's checked rows (``validate``'s plans): each kind upserted on its ids, counted as
created, updated or unchanged, every change noted for ``--dry-run``. Marks go through the register's
one door (``register.service.take_marks``) in bulk.
"""

from sqlmodel import select

from bot.importing.formats import PUPIL_FLAGS
from bot.importing.rows import MAX_CHANGES, Job, Progress
from bot.importing.validate import ContactPlan, SchoolPlan
from bot.policy import DEFAULT_LADDER
from bot.register.service import Incoming, take_marks
from storage.models import CalendarEntry, Contact, Pupil, PupilContact, School, SchoolPolicy, Staff

IMPORT_SOURCE = "import"
PUPIL_TEXT = (
    "upn",
    "preferred_name",
    "year_group",
    "class_name",
    "date_of_birth",
    "social_worker_email",
    "yot_worker_email",
    "admission_date",
    "leaving_date",
)


def schools(job: Job, work: list[SchoolPlan], _notify: Progress) -> None:
    for item in work:
        school, policy = item.school, item.policy
        created = school is None
        if created:
            school = School(urn=item.urn, **item.fields)
            job.session.add(school)
            job.session.flush()
            changed = True
        else:
            changed = job.apply(school, item.fields)
        if policy is None:
            ladder = [dict(step) for step in DEFAULT_LADDER]
            policy = SchoolPolicy(school_id=school.id, escalation_ladder=ladder)
            job.session.add(policy)
        changed = job.apply(policy, item.policy_fields) or changed
        job.count(created=created, changed=changed)


def calendar(job: Job, work, _notify: Progress) -> None:
    for row, entry in work:
        v = row.values
        fields = {"end_date": v["end_date"]}
        if job.has("name"):
            fields["name"] = v["name"] or ""
        job.upsert(entry, fields, model=CalendarEntry, kind=v["kind"], start_date=v["start_date"])


def staff(job: Job, work, _notify: Progress) -> None:
    for row, found in work:
        v = row.values
        fields = {
            "name": v["name"],
            "role": v["role"],
            **job.optional(row, ["email", "slack_user_id", "teams_user_id"]),
        }
        if job.has("active"):
            fields["active"] = True if v["active"] is None else v["active"]
        job.upsert(found, fields, model=Staff, staff_code=v["staff_code"])


def pupils(job: Job, work, _notify: Progress) -> None:
    for row, found in work:
        v = row.values
        fields = {"first_name": v["first_name"], "last_name": v["last_name"], **job.optional(row, PUPIL_TEXT)}
        for column, attr, _help in PUPIL_FLAGS:
            if job.has(column):
                fields[attr] = bool(v[column])
        if job.has("on_roll"):
            fields["on_roll"] = True if v["on_roll"] is None else v["on_roll"]
        elif v.get("leaving_date") is not None:
            # A leaver is marked off roll, never deleted: the history and audit stay.
            fields["on_roll"] = v["leaving_date"] > job.today
        job.upsert(found, fields, model=Pupil, mis_id=v["mis_id"])


def contacts(job: Job, plan: ContactPlan, _notify: Progress) -> None:
    """Each contact once (with the details its rows agree on), then its link to each pupil."""
    touched = _contacts(job, plan)
    job.session.flush()
    link_changed: set[str] = set()
    for row, pupil_id in plan.rows:
        v = row.values
        contact = touched[v["mis_id"]][0]
        primary = v.get("primary_contact")
        fields = {
            "priority": v.get("priority") or (2 if primary is False else 1),
            "relationship": v.get("relationship") or "parent",
        }
        if job.has("parental_responsibility"):
            pr = v["parental_responsibility"]
            fields["parental_responsibility"] = True if pr is None else pr
        link = plan.links.get((pupil_id, contact.id))
        if link is None:
            job.session.add(
                PupilContact(school_id=job.school.id, pupil_id=pupil_id, contact_id=contact.id, **fields)
            )
            link_changed.add(v["mis_id"])
        elif job.apply(link, fields):
            link_changed.add(v["mis_id"])
    for mis_id, (_contact, created, changed) in touched.items():
        job.count(created=created, changed=changed or mis_id in link_changed)
    job.result.detail = f"{len(plan.rows)} pupil links"


def _contacts(job: Job, plan: ContactPlan) -> dict[str, tuple[Contact, bool, bool]]:
    """mis_id -> (contact, created, changed)."""
    touched: dict[str, tuple[Contact, bool, bool]] = {}
    for mis_id, (_line, fields) in plan.contacts.items():
        contact = plan.existing.get(mis_id)
        if contact is None:
            fields = {"language": "en", **{k: v for k, v in fields.items() if v is not None}}
            contact = Contact(school_id=job.school.id, mis_id=mis_id, **fields)
            job.session.add(contact)
            touched[mis_id] = (contact, True, True)
        else:
            # An opt-out is the parent's choice (a STOP text): a file can set it, never clear it.
            for name in ("sms_opt_out", "email_opt_out"):
                if name in fields:
                    fields = {**fields, name: fields[name] or getattr(contact, name)}
            touched[mis_id] = (contact, False, job.apply(contact, fields))
    return touched


def marks(job: Job, incoming: list[Incoming], notify: Progress) -> None:
    """The register taken as the MIS shows it (``take_marks``).

    A mark staff or the bot amended is kept while the file still shows the MIS's old entry (the
    amendment is on its way to the MIS, or the office will type it in); if the file shows anything
    else, the MIS was changed since and its code wins (the attendance officer is told).
    """
    sid = job.school.id
    notify("writing", 0, len(incoming))
    taken = take_marks(job.session, school_id=sid, marks=incoming, source=IMPORT_SOURCE, now=job.now)
    notify("writing", len(incoming), len(incoming))
    job.result.created += taken.created
    job.result.updated += taken.updated + len(taken.overridden)
    job.result.unchanged += taken.unchanged + taken.adopted
    job.result.kept += taken.kept
    if taken.changes:
        ids = dict(job.session.exec(select(Pupil.id, Pupil.mis_id).where(Pupil.school_id == sid)).all())
        for pupil_id, when, session_name, before, code in taken.changes[:MAX_CHANGES]:
            job.result.note(
                f"mark {ids.get(pupil_id)} {when.isoformat()} {session_name}: {before or '(none)'} → {code}"
            )
        job.result.changes_total += max(0, len(taken.changes) - MAX_CHANGES)
    if taken.overridden:
        n = len(taken.overridden)
        job.result.warnings.append(
            f"{n} mark(s) amended in the bot were changed in the MIS since: the MIS's code now "
            "stands and the attendance officer is told"
        )
