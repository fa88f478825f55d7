"""Storage: SQLModel tables, the engine and sessions, and Alembic migrations.

Nothing here imports the rest of the project: the tables are the shared vocabulary.
"""
