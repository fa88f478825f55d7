"""The school's MIS, read and written through Wonde.

Almost every English state school already shares its MIS (SIMS, Arbor, Bromcom...) through Wonde.
A school approves the bot's Wonde app; the bot then

- syncs pupils, contacts, classes, year groups and staff every night (``sync``);
- reads the register as it is taken, around each register close (``marks``), so register close,
  the chase and the "register not taken" check act on the live register;
- writes every change made through the bot's audited door back to the MIS (``writeback``).

``client`` speaks Wonde's HTTP API (and nothing else does); ``wire`` turns its JSON into plain
values, tolerant of fields Wonde adds. A school without Wonde keeps working from CSV files.
"""
