"""Attendance reports: the weekly report (SQL aggregates, a chart and an HTML page)."""
