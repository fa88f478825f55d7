"""Importing a school's data (schools, pupils, contacts, staff, marks, calendar) from CSV files."""

from bot.importing.service import ImportResult, RowError, import_file

__all__ = ["ImportResult", "RowError", "import_file"]
