"""The headers SIMS, Arbor and Bromcom exports use, mapped to the bot's column names, per kind of file.

A school office exports a report from its MIS and imports it as it is: ``Adno``, ``Legal Surname``,
``Reg`` and ``DOB`` are read as ``mis_id``, ``last_name``, ``class_name`` and ``date_of_birth``.
Headers are compared normalised (lower case, any run of spaces or punctuation as ``_``), so
``Legal Surname``, ``legal-surname`` and ``LEGAL_SURNAME`` are one header. Within a field the aliases
are in order of preference: when an export has both ``Legal Forename`` and ``Forename``, the legal
one is the first name and the other is ignored with a warning. ``--map "Column=field"`` overrides
everything for the columns it names. ``docs/csv-formats.md`` lists these tables.
"""

import re

from bot.errors import UserError

# kind -> field -> aliases (normalised), most preferred first. The field's own name always matches.
ALIASES: dict[str, dict[str, tuple[str, ...]]] = {
    "schools": {
        "urn": ("school_urn", "establishment_urn"),
        "name": ("school_name", "establishment_name"),
        "wonde_id": ("wonde_school_id",),
    },
    "pupils": {
        "mis_id": ("adno", "admission_number", "adm_no", "student_id", "pupil_id", "person_id", "id"),
        "upn": ("unique_pupil_number",),
        "first_name": ("legal_forename", "legal_first_name", "forename", "first_names", "given_name"),
        "last_name": ("legal_surname", "legal_last_name", "surname", "family_name"),
        "preferred_name": ("preferred_forename", "preferred_first_name", "known_as", "chosen_name"),
        "year_group": ("year", "nc_year", "national_curriculum_year", "curriculum_year", "year_taught_in"),
        "class_name": (
            "reg",
            "reg_group",
            "registration_group",
            "reg_grp",
            "form",
            "form_group",
            "tutor_group",
            "registration_form",
            "class",
        ),
        "date_of_birth": ("dob", "d_o_b", "birth_date"),
        "admission_date": ("date_of_admission", "adm_date", "entry_date", "start_date"),
        "leaving_date": ("date_of_leaving", "leave_date", "end_date"),
        "social_worker": ("has_social_worker",),
        "child_protection": ("cp_plan", "cp", "cin", "child_in_need"),
        "looked_after": ("looked_after_child", "in_care", "lac", "cla"),
        "send_ehcp": ("ehcp", "ehc_plan"),
        "yot_worker": ("yot", "has_yot_worker"),
        "fsm": ("free_school_meals", "fsm_eligible", "fsm_eligibility"),
    },
    "contacts": {
        "mis_id": ("contact_id", "contact_person_id", "guardian_id", "parent_id", "contact_ref"),
        "pupil_mis_id": ("adno", "admission_number", "adm_no", "student_id", "pupil_id", "upn"),
        "first_name": ("contact_forename", "contact_first_name", "forename", "contact_legal_forename"),
        "last_name": ("contact_surname", "contact_last_name", "surname", "contact_legal_surname"),
        "relationship": (
            "relationship_to_pupil",
            "relationship_to_student",
            "contact_relationship",
            "relation",
        ),
        "priority": ("contact_priority", "priority_order", "contact_order", "order"),
        "parental_responsibility": ("has_parental_responsibility", "parental_resp", "pr"),
        "mobile": (
            "mobile_phone",
            "mobile_number",
            "mobile_tel",
            "mobile_telephone",
            "telephone_mobile",
            "tel_mobile",
            "phone_mobile",
            "contact_mobile",
            "mobile_no",
        ),
        "email": ("email_address", "contact_email", "primary_email", "e_mail"),
        "language": ("first_language", "home_language", "preferred_language", "contact_language"),
        "primary_contact": ("primary", "main_contact"),
    },
    "staff": {
        "staff_code": ("staff_id", "employee_id", "staff_number", "person_id", "code"),
        "name": ("full_name", "staff_name", "display_name"),
        "email": ("email_address", "work_email"),
    },
    "marks": {
        "pupil_mis_id": ("adno", "admission_number", "adm_no", "student_id", "pupil_id", "upn"),
        "date": ("session_date", "attendance_date", "register_date"),
        "session": ("am_pm", "period"),
        "code": ("mark", "attendance_mark", "attendance_code"),
        "minutes_late": ("mins_late", "late_minutes", "minutes_late_mins"),
    },
    "calendar": {"kind": ("type",), "start_date": ("start", "from"), "end_date": ("end", "to")},
}


def normalise(name: str) -> str:
    """``Legal Surname`` -> ``legal_surname``; ``D.O.B.`` -> ``d_o_b``; ``Tel (Mobile)`` -> ``tel_mobile``."""
    return "_".join(re.findall(r"[0-9a-z]+", name.lower()))


def parse_mapping(pairs: list[str] | tuple[str, ...], *, kind: str, names: list[str]) -> dict[str, str]:
    """``--map "Person ID=mis_id"`` options -> {normalised column: field}; a bad one is a UserError."""
    mapping: dict[str, str] = {}
    for pair in pairs:
        column, sep, target = pair.partition("=")
        column, target = normalise(column), normalise(target)
        if not sep or not column or not target:
            raise UserError(f"--map '{pair}' is not COLUMN=FIELD (e.g. --map \"Person ID=mis_id\")")
        if target not in names:
            raise UserError(
                f"--map '{pair}': a {kind} file has no field '{target}' (fields: {', '.join(names)})"
            )
        mapping[column] = target
    return mapping


def resolve(
    kind: str, header: list[str], names: list[str], mapping: dict[str, str]
) -> tuple[list[str], list[str], list[str]]:
    """Rename a normalised header to the bot's fields: (header, warnings, --map columns not found).

    A column the bot does not read keeps its own name (and is reported as unknown by the caller);
    a column that loses to a better one for the same field becomes '' (ignored) with a warning.
    """
    aliases = ALIASES.get(kind, {})
    missing = [column for column in mapping if column not in header]

    def rank(column: str) -> tuple[str, int] | None:
        if column in mapping:
            return mapping[column], -2
        if column in names:
            return column, -1
        for field, options in aliases.items():
            if column in options:
                return field, options.index(column)
        return None

    best: dict[str, tuple[int, int]] = {}  # field -> (rank, index in header)
    for i, column in enumerate(header):
        found = rank(column)
        if found and (found[0] not in best or found[1] < best[found[0]][0]):
            best[found[0]] = (found[1], i)
    chosen = {i: field for field, (_rank, i) in best.items()}
    out, warnings = [], []
    for i, column in enumerate(header):
        found = rank(column)
        if i in chosen:
            out.append(chosen[i])
        elif found:
            winner = header[best[found[0]][1]]
            warnings.append(f"column '{column}' ignored: '{winner}' gives {found[0]}")
            out.append("")
        else:
            out.append(column)
    return out, warnings, missing
