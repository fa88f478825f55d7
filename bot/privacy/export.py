"""A subject-access export: everything the bot holds about one pupil of one school.

The document is a set of tables (the pupil, the contacts linked to them, marks, amendments, cases
and their log, notices, messages sent to the family, replies received, calls, alerts), each a list
of rows, written as one JSON file or as a zip of CSV files. Which rows belong to the pupil:

- messages: those about the pupil's cases, and those to the pupil's contacts about no case at all
  (a term's "report an absence" link). A message about a sibling's absence alone is the sibling's.
- replies: those linked to the pupil's cases or notices, and those from the pupil's contacts
  linked to no case and no notice (nobody could tell which child they were about).

A sibling sharing a contact shares the contact's row, never the sibling's marks, cases or alerts.
Secrets the bot keeps for itself (a family link's nonce, idempotency keys) are left out. The
school reviews the document before handing it over: a message about two siblings names both,
and safeguarding content may be withheld under the exemptions.
"""

import csv
import io
import json
import zipfile
from datetime import date, datetime, time
from typing import Any

from sqlalchemy import or_
from sqlmodel import Session, SQLModel, select

from bot.errors import NotFound, UserError
from storage.models import (
    AbsenceCase,
    AbsenceNotice,
    Alert,
    AlertAction,
    CallLog,
    CaseEvent,
    Contact,
    FamilyLink,
    InboundMessage,
    Mark,
    MarkAmendment,
    MessageCase,
    OutboxMessage,
    Pupil,
    PupilContact,
    ReplyCase,
    School,
    VoiceCall,
)

FORMAT = "attendance-bot subject access export 1"
HIDDEN = frozenset({"nonce", "idempotency_key"})


def find_pupil(session: Session, *, school: School, key: str) -> Pupil:
    """The school's pupil with this UPN (or the bot's id, or the MIS id); never another school's."""
    key = key.strip()
    if not key:
        raise UserError("Say which pupil: --pupil UPN (or the pupil's id).")
    by_upn = list(
        session.exec(
            select(Pupil).where(Pupil.school_id == school.id, or_(Pupil.upn == key, Pupil.mis_id == key))
        ).all()
    )
    if not by_upn and key.isdigit():
        row = session.get(Pupil, int(key))
        by_upn = [row] if row is not None and row.school_id == school.id else []
    if not by_upn:
        raise NotFound(
            f"No pupil with UPN or id {key} at {school.name} (URN {school.urn}). Check the UPN; "
            "pupils of other schools cannot be exported from this school."
        )
    if len(by_upn) > 1:
        ids = ", ".join(str(p.id) for p in by_upn)
        raise UserError(f"{len(by_upn)} pupils of {school.name} match {key} (ids {ids}): give the id.")
    return by_upn[0]


def _row(obj: SQLModel, **extra: Any) -> dict:
    """The row's columns in the table's order (so CSV files start with the id), secrets left out."""
    return {**{k: getattr(obj, k) for k in type(obj).model_fields if k not in HIDDEN}, **extra}


def _all(session: Session, statement) -> list:
    return list(session.exec(statement).all())


def _messages(session: Session, *, pupil: Pupil, case_ids: list[int], contact_ids: list[int]) -> list:
    about_pupil = select(MessageCase.message_id).where(MessageCase.case_id.in_(case_ids))
    about_no_case = ~OutboxMessage.id.in_(select(MessageCase.message_id))
    return _all(
        session,
        select(OutboxMessage)
        .where(
            OutboxMessage.school_id == pupil.school_id,
            or_(OutboxMessage.id.in_(about_pupil), OutboxMessage.contact_id.in_(contact_ids) & about_no_case),
        )
        .order_by(OutboxMessage.id),
    )


def _replies(session: Session, *, pupil: Pupil, case_ids: list[int], contact_ids: list[int]) -> list:
    via_case = select(ReplyCase.inbound_id).where(ReplyCase.case_id.in_(case_ids))
    via_notice = select(AbsenceNotice.inbound_id).where(
        AbsenceNotice.pupil_id == pupil.id, AbsenceNotice.inbound_id.is_not(None)
    )
    unattributed = (
        InboundMessage.contact_id.in_(contact_ids)
        & ~InboundMessage.id.in_(select(ReplyCase.inbound_id))
        & ~InboundMessage.id.in_(
            select(AbsenceNotice.inbound_id).where(AbsenceNotice.inbound_id.is_not(None))
        )
    )
    return _all(
        session,
        select(InboundMessage)
        .where(
            InboundMessage.school_id == pupil.school_id,
            or_(InboundMessage.id.in_(via_case), InboundMessage.id.in_(via_notice), unattributed),
        )
        .order_by(InboundMessage.id),
    )


def _links_to_cases(session: Session, table, id_column, ids: list[int], case_ids: list[int]) -> dict:
    """{message or reply id: [ids of this pupil's cases it was about]}."""
    found: dict[int, list[int]] = {}
    for row in _all(session, select(table).where(id_column.in_(ids), table.case_id.in_(case_ids))):
        found.setdefault(getattr(row, id_column.key), []).append(row.case_id)
    return found


def pupil_tables(session: Session, *, school: School, pupil: Pupil) -> dict[str, list[dict]]:
    """Every table of the export, each a list of plain rows (in the order the export lists them)."""
    assert pupil.school_id == school.id
    links = _all(session, select(PupilContact).where(PupilContact.pupil_id == pupil.id))
    contact_ids = [link.contact_id for link in links]
    cases = _all(
        session, select(AbsenceCase).where(AbsenceCase.pupil_id == pupil.id).order_by(AbsenceCase.id)
    )
    case_ids = [c.id for c in cases]
    return {
        **_family_tables(session, pupil=pupil, links=links),
        **_attendance_tables(session, pupil=pupil, cases=cases),
        **_contact_tables(session, pupil=pupil, case_ids=case_ids, contact_ids=contact_ids),
        **_alert_tables(session, pupil=pupil),
    }


def _by_pupil(session: Session, model, pupil: Pupil) -> list:
    """Every row of ``model`` about the child, oldest first."""
    return _all(session, select(model).where(model.pupil_id == pupil.id).order_by(model.id))


def _family_tables(session: Session, *, pupil: Pupil, links: list[PupilContact]) -> dict[str, list[dict]]:
    """The child, the contacts linked to them (with the link's terms) and those contacts' family links."""
    contact_ids = [link.contact_id for link in links]
    contacts = {c.id: c for c in _all(session, select(Contact).where(Contact.id.in_(contact_ids)))}
    family_links = _all(
        session, select(FamilyLink).where(FamilyLink.contact_id.in_(contact_ids)).order_by(FamilyLink.id)
    )
    return {
        "pupil": [_row(pupil)],
        "contacts": [
            _row(
                contacts[link.contact_id],
                relationship=link.relationship,
                priority=link.priority,
                parental_responsibility=link.parental_responsibility,
            )
            for link in links
        ],
        "family_links": [_row(x) for x in family_links],
    }


def _attendance_tables(session: Session, *, pupil: Pupil, cases: list[AbsenceCase]) -> dict[str, list[dict]]:
    """Marks and their amendments, absence cases with their log, and the family's notices."""
    marks = _all(session, select(Mark).where(Mark.pupil_id == pupil.id).order_by(Mark.date, Mark.session))
    case_log = _all(
        session,
        select(CaseEvent)
        .where(or_(CaseEvent.pupil_id == pupil.id, CaseEvent.case_id.in_([c.id for c in cases])))
        .order_by(CaseEvent.id),
    )
    return {
        "marks": [_row(m) for m in marks],
        "mark_amendments": [_row(a) for a in _by_pupil(session, MarkAmendment, pupil)],
        "cases": [_row(c) for c in cases],
        "case_log": [_row(e) for e in case_log],
        "notices": [_row(n) for n in _by_pupil(session, AbsenceNotice, pupil)],
    }


def _contact_tables(
    session: Session, *, pupil: Pupil, case_ids: list[int], contact_ids: list[int]
) -> dict[str, list[dict]]:
    """Every message, call and reply between the school and the family, and staff's logged calls."""
    messages = _messages(session, pupil=pupil, case_ids=case_ids, contact_ids=contact_ids)
    replies = _replies(session, pupil=pupil, case_ids=case_ids, contact_ids=contact_ids)
    message_cases = _links_to_cases(
        session, MessageCase, MessageCase.message_id, [m.id for m in messages], case_ids
    )
    reply_cases = _links_to_cases(session, ReplyCase, ReplyCase.inbound_id, [r.id for r in replies], case_ids)
    calls = _all(
        session,
        select(VoiceCall)
        .where(VoiceCall.message_id.in_([m.id for m in messages]))
        .order_by(VoiceCall.message_id),
    )
    return {
        "messages_to_family": [_row(m, about_cases=message_cases.get(m.id, [])) for m in messages],
        "calls_to_family": [_row(v) for v in calls],
        "replies_from_family": [_row(r, about_cases=reply_cases.get(r.id, [])) for r in replies],
        "staff_calls": [_row(c) for c in _by_pupil(session, CallLog, pupil)],
    }


def _alert_tables(session: Session, *, pupil: Pupil) -> dict[str, list[dict]]:
    """Alerts staff were given about the child and what they did with them."""
    alerts = _by_pupil(session, Alert, pupil)
    actions = _all(
        session,
        select(AlertAction).where(AlertAction.alert_id.in_([a.id for a in alerts])).order_by(AlertAction.id),
    )
    return {"alerts": [_row(a) for a in alerts], "alert_actions": [_row(a) for a in actions]}


def _plain(value: Any) -> Any:
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    raise TypeError(f"cannot write {type(value).__name__}")


def about(*, school: School, pupil: Pupil, now: datetime, tables: dict[str, list[dict]]) -> dict:
    return {
        "format": FORMAT,
        "generated_at": now.isoformat(),
        "school_urn": school.urn,
        "school_name": school.name,
        "pupil_id": pupil.id,
        "pupil_upn": pupil.upn,
        "rows": {name: len(rows) for name, rows in tables.items()},
    }


def to_json(*, school: School, pupil: Pupil, now: datetime, tables: dict[str, list[dict]]) -> bytes:
    document = {"export": about(school=school, pupil=pupil, now=now, tables=tables), **tables}
    return json.dumps(document, default=_plain, ensure_ascii=False, indent=2).encode("utf-8")


def _csv(rows: list[dict]) -> bytes:
    columns: list[str] = []
    for row in rows:
        columns += [k for k in row if k not in columns]
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=columns)
    writer.writeheader()
    for row in rows:
        writer.writerow(
            {
                k: json.dumps(v, default=_plain, ensure_ascii=False)
                if isinstance(v, dict | list)
                else _plain(v)
                if isinstance(v, datetime | date | time)
                else v
                for k, v in row.items()
            }
        )
    return out.getvalue().encode("utf-8-sig")  # a byte-order mark: Excel reads it as UTF-8


def to_zip(*, school: School, pupil: Pupil, now: datetime, tables: dict[str, list[dict]]) -> bytes:
    """One CSV per table, and ``export.json`` saying what the files are."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(
            "export.json", json.dumps(about(school=school, pupil=pupil, now=now, tables=tables), indent=2)
        )
        for name, rows in tables.items():
            archive.writestr(f"{name}.csv", _csv(rows))
    return buffer.getvalue()
