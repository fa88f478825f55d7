"""Retention and subject access: what the bot forgets, and when, and what it holds about one pupil.

- ``retention``: the school's retention periods as cut-off instants and dates (one ``now``).
- ``purge``: removes or redacts each kind of personal data older than the school's policy; the
  register and its amendments are kept at least six years (the 2024 regulations).
- ``export``: everything the bot holds about one pupil, for a subject-access request.
- ``scheduled``: the nightly ``privacy-purge`` job.
"""
