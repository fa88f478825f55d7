"""mis: the Wonde link, the write-back queue and where each mark came from

Revision ID: 0004_mis
Revises: 0005_notices
Create Date: 2026-11-30 09:38:24

- ``school.wonde_id`` / ``mis_writeback``; ``schoolpolicy.register_check_after_minutes``;
- ``pupil``: ``wonde_id``, ``admission_date``, ``leaving_date`` (``date_of_birth`` comes with
  0003_safeguarding);
  ``contact.wonde_id``, ``staff.wonde_id``;
- ``mark.mis_code``: the code the MIS showed when last read (backfilled: the mark's own code, or for
  a mark amended in the bot the original entry of its first amendment);
- ``markamendment``: ``source`` (backfilled ``staff`` when a member of staff made it, else ``bot``),
  ``written_back_at``, ``writeback_id``;
- tables ``miswriteback`` (the queue of changes for the MIS) and ``misconnection``.
"""
from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel  # noqa: F401
from alembic import op

import storage.types  # noqa: F401


revision: str = '0004_mis'
down_revision: str | None = '0005_notices'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('misconnection',
    sa.Column('school_id', sa.Integer(), nullable=False),
    sa.Column('sync_cursor', storage.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('synced_at', storage.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('marks_cursor', storage.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('marks_read_at', storage.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('failing_since', storage.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('last_error', sqlmodel.sql.sqltypes.AutoString(), nullable=True),
    sa.Column('outage_alerted', sa.Boolean(), nullable=False),
    sa.Column('codes', sa.JSON(), nullable=False),
    sa.Column('codes_read_at', storage.types.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['school_id'], ['school.id'], ),
    sa.PrimaryKeyConstraint('school_id')
    )
    op.create_table('miswriteback',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('school_id', sa.Integer(), nullable=False),
    sa.Column('amendment_id', sa.Integer(), nullable=False),
    sa.Column('mark_id', sa.Integer(), nullable=False),
    sa.Column('pupil_id', sa.Integer(), nullable=False),
    sa.Column('date', sa.Date(), nullable=False),
    sa.Column('session', sqlmodel.sql.sqltypes.AutoString(length=2), nullable=False),
    sa.Column('code', sqlmodel.sql.sqltypes.AutoString(length=2), nullable=False),
    sa.Column('base_code', sqlmodel.sql.sqltypes.AutoString(length=2), nullable=True),
    sa.Column('comment', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('minutes_late', sa.Integer(), nullable=True),
    sa.Column('status', sqlmodel.sql.sqltypes.AutoString(length=12), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('next_attempt_at', storage.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('created_at', storage.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', storage.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('sent_at', storage.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('writeback_id', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
    sa.Column('error', sqlmodel.sql.sqltypes.AutoString(), nullable=True),
    sa.ForeignKeyConstraint(['amendment_id'], ['markamendment.id'], ),
    sa.ForeignKeyConstraint(['mark_id'], ['mark.id'], ),
    sa.ForeignKeyConstraint(['pupil_id'], ['pupil.id'], ),
    sa.ForeignKeyConstraint(['school_id'], ['school.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('amendment_id')
    )
    with op.batch_alter_table('miswriteback', schema=None) as batch_op:
        batch_op.create_index('ix_miswriteback_due', ['status', 'next_attempt_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_miswriteback_mark_id'), ['mark_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_miswriteback_school_id'), ['school_id'], unique=False)

    with op.batch_alter_table('contact', schema=None) as batch_op:
        batch_op.add_column(sa.Column('wonde_id', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True))
        batch_op.create_unique_constraint('uq_contact_wonde', ['school_id', 'wonde_id'])

    with op.batch_alter_table('mark', schema=None) as batch_op:
        batch_op.add_column(sa.Column('mis_code', sqlmodel.sql.sqltypes.AutoString(length=2), nullable=True))

    with op.batch_alter_table('markamendment', schema=None) as batch_op:
        batch_op.add_column(sa.Column('source', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False,
                                      server_default='bot'))
        batch_op.add_column(sa.Column('written_back_at', storage.types.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('writeback_id', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True))

    with op.batch_alter_table('pupil', schema=None) as batch_op:
        batch_op.add_column(sa.Column('wonde_id', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True))
        batch_op.add_column(sa.Column('admission_date', sa.Date(), nullable=True))
        batch_op.add_column(sa.Column('leaving_date', sa.Date(), nullable=True))
        batch_op.create_unique_constraint('uq_pupil_wonde', ['school_id', 'wonde_id'])

    with op.batch_alter_table('school', schema=None) as batch_op:
        batch_op.add_column(sa.Column('wonde_id', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True))
        batch_op.add_column(sa.Column('mis_writeback', sa.Boolean(), nullable=False,
                                      server_default=sa.false()))
        batch_op.create_unique_constraint('uq_school_wonde', ['wonde_id'])

    with op.batch_alter_table('schoolpolicy', schema=None) as batch_op:
        batch_op.add_column(sa.Column('register_check_after_minutes', sa.Integer(), nullable=False,
                                      server_default='15'))

    with op.batch_alter_table('staff', schema=None) as batch_op:
        batch_op.add_column(sa.Column('wonde_id', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True))

    # What the MIS showed when last read: the mark itself, unless the bot amended it since, in which
    # case the original entry of its first amendment (what the MIS still shows until written back).
    op.execute("UPDATE markamendment SET source = 'staff' WHERE staff_id IS NOT NULL")
    op.execute("UPDATE mark SET mis_code = code WHERE source NOT IN ('bot', 'staff')")
    op.execute(
        "UPDATE mark SET mis_code = (SELECT a.original_code FROM markamendment a WHERE a.mark_id = mark.id "
        "ORDER BY a.id LIMIT 1) WHERE source IN ('bot', 'staff')"
    )


def downgrade() -> None:
    with op.batch_alter_table('staff', schema=None) as batch_op:
        batch_op.drop_column('wonde_id')

    with op.batch_alter_table('schoolpolicy', schema=None) as batch_op:
        batch_op.drop_column('register_check_after_minutes')

    with op.batch_alter_table('school', schema=None) as batch_op:
        batch_op.drop_constraint('uq_school_wonde', type_='unique')
        batch_op.drop_column('mis_writeback')
        batch_op.drop_column('wonde_id')

    with op.batch_alter_table('pupil', schema=None) as batch_op:
        batch_op.drop_constraint('uq_pupil_wonde', type_='unique')
        batch_op.drop_column('leaving_date')
        batch_op.drop_column('admission_date')
        batch_op.drop_column('wonde_id')

    with op.batch_alter_table('markamendment', schema=None) as batch_op:
        batch_op.drop_column('writeback_id')
        batch_op.drop_column('written_back_at')
        batch_op.drop_column('source')

    with op.batch_alter_table('mark', schema=None) as batch_op:
        batch_op.drop_column('mis_code')

    with op.batch_alter_table('contact', schema=None) as batch_op:
        batch_op.drop_constraint('uq_contact_wonde', type_='unique')
        batch_op.drop_column('wonde_id')

    with op.batch_alter_table('miswriteback', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_miswriteback_school_id'))
        batch_op.drop_index(batch_op.f('ix_miswriteback_mark_id'))
        batch_op.drop_index('ix_miswriteback_due')

    op.drop_table('miswriteback')
    op.drop_table('misconnection')
