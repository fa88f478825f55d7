"""``python -m scheduler``: the clock process."""

from scheduler.cli import clock_command

clock_command()
