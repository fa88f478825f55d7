"""Absence notices (what families told us, with the sessions it covers) and families' standing
links to the "report an absence" page (issue 15).

Revision ID: 0005_notices
Revises: 0003_safeguarding (re-chained after main merged it)
Create Date: 2026-11-30 09:55:55.858831
"""
from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel  # noqa: F401
from alembic import op

import storage.types  # noqa: F401


revision: str = '0005_notices'
down_revision: str | None = '0003_safeguarding'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('familylink',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('school_id', sa.Integer(), nullable=False),
    sa.Column('contact_id', sa.Integer(), nullable=False),
    sa.Column('nonce', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('created_at', storage.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('revoked_at', storage.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('revoked_by', sqlmodel.sql.sqltypes.AutoString(), nullable=True),
    sa.ForeignKeyConstraint(['contact_id'], ['contact.id'], ),
    sa.ForeignKeyConstraint(['school_id'], ['school.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('familylink', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_familylink_school_id'), ['school_id'], unique=False)
        batch_op.create_index('uq_family_link_live', ['contact_id'], unique=True, sqlite_where=sa.text('revoked_at IS NULL'), postgresql_where=sa.text('revoked_at IS NULL'))

    op.create_table('absencenotice',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('school_id', sa.Integer(), nullable=False),
    sa.Column('pupil_id', sa.Integer(), nullable=False),
    sa.Column('first_date', sa.Date(), nullable=False),
    sa.Column('first_session', sqlmodel.sql.sqltypes.AutoString(length=2), nullable=False),
    sa.Column('last_date', sa.Date(), nullable=True),
    sa.Column('last_session', sqlmodel.sql.sqltypes.AutoString(length=2), nullable=True),
    sa.Column('return_date', sa.Date(), nullable=True),
    sa.Column('words', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('child_named', sa.Boolean(), nullable=False),
    sa.Column('understood', sqlmodel.sql.sqltypes.AutoString(length=12), nullable=False),
    sa.Column('suggested_code', sqlmodel.sql.sqltypes.AutoString(length=2), nullable=True),
    sa.Column('source', sqlmodel.sql.sqltypes.AutoString(length=12), nullable=False),
    sa.Column('reported_by', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('contact_id', sa.Integer(), nullable=True),
    sa.Column('staff_id', sa.Integer(), nullable=True),
    sa.Column('inbound_id', sa.Integer(), nullable=True),
    sa.Column('case_id', sa.Integer(), nullable=True),
    sa.Column('received_at', storage.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('status', sqlmodel.sql.sqltypes.AutoString(length=12), nullable=False),
    sa.Column('ended_reason', sqlmodel.sql.sqltypes.AutoString(), nullable=True),
    sa.Column('accepted_code', sqlmodel.sql.sqltypes.AutoString(length=2), nullable=True),
    sa.Column('accepted_staff_id', sa.Integer(), nullable=True),
    sa.Column('accepted_at', storage.types.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['accepted_staff_id'], ['staff.id'], ),
    sa.ForeignKeyConstraint(['case_id'], ['absencecase.id'], ),
    sa.ForeignKeyConstraint(['contact_id'], ['contact.id'], ),
    sa.ForeignKeyConstraint(['inbound_id'], ['inboundmessage.id'], ),
    sa.ForeignKeyConstraint(['pupil_id'], ['pupil.id'], ),
    sa.ForeignKeyConstraint(['school_id'], ['school.id'], ),
    sa.ForeignKeyConstraint(['staff_id'], ['staff.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('absencenotice', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_absencenotice_case_id'), ['case_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_absencenotice_school_id'), ['school_id'], unique=False)
        batch_op.create_index('ix_notice_pupil_first', ['pupil_id', 'first_date'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('absencenotice', schema=None) as batch_op:
        batch_op.drop_index('ix_notice_pupil_first')
        batch_op.drop_index(batch_op.f('ix_absencenotice_school_id'))
        batch_op.drop_index(batch_op.f('ix_absencenotice_case_id'))

    op.drop_table('absencenotice')
    with op.batch_alter_table('familylink', schema=None) as batch_op:
        batch_op.drop_index('uq_family_link_live', sqlite_where=sa.text('revoked_at IS NULL'), postgresql_where=sa.text('revoked_at IS NULL'))
        batch_op.drop_index(batch_op.f('ix_familylink_school_id'))

    op.drop_table('familylink')
