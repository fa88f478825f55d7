"""Automated voice calls: the call's record, contacts' phones and call preference, the school's call policy.

Existing rows get the models' defaults (server defaults here, so the NOT NULL columns can be added).

Revision ID: 0006_voice
Revises: 0004_mis
Create Date: 2026-11-30 10:12:47.297544
"""
from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel  # noqa: F401
from alembic import op

import storage.types  # noqa: F401


revision: str = '0006_voice'
down_revision: str | None = '0004_mis'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('voicecall',
    sa.Column('message_id', sa.Integer(), nullable=False),
    sa.Column('school_id', sa.Integer(), nullable=False),
    sa.Column('call_sid', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
    sa.Column('answered_by', sqlmodel.sql.sqltypes.AutoString(length=24), nullable=True),
    sa.Column('outcome', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.Column('digits', sqlmodel.sql.sqltypes.AutoString(length=8), nullable=True),
    sa.Column('recording_sid', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
    sa.Column('recording_url', sqlmodel.sql.sqltypes.AutoString(), nullable=True),
    sa.Column('recording_seconds', sa.Integer(), nullable=True),
    sa.Column('inbound_id', sa.Integer(), nullable=True),
    sa.Column('created_at', storage.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', storage.types.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['inbound_id'], ['inboundmessage.id'], ),
    sa.ForeignKeyConstraint(['message_id'], ['outboxmessage.id'], ),
    sa.ForeignKeyConstraint(['school_id'], ['school.id'], ),
    sa.PrimaryKeyConstraint('message_id'),
    sa.UniqueConstraint('recording_sid')
    )
    with op.batch_alter_table('voicecall', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_voicecall_call_sid'), ['call_sid'], unique=False)
        batch_op.create_index(batch_op.f('ix_voicecall_school_id'), ['school_id'], unique=False)

    with op.batch_alter_table('absencecase', schema=None) as batch_op:
        batch_op.add_column(sa.Column('chase_count', sa.Integer(), nullable=False, server_default='0'))

    with op.batch_alter_table('contact', schema=None) as batch_op:
        batch_op.add_column(sa.Column('phone', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=True))
        batch_op.add_column(sa.Column('prefers_calls', sa.Boolean(), nullable=False, server_default=sa.false()))

    with op.batch_alter_table('schoolpolicy', schema=None) as batch_op:
        batch_op.add_column(sa.Column('calls_enabled', sa.Boolean(), nullable=False, server_default=sa.true()))
        batch_op.add_column(sa.Column('call_at_chase', sa.Integer(), nullable=False, server_default='0'))
        batch_op.add_column(sa.Column('calls_from', sa.Time(), nullable=False, server_default='08:00:00'))
        batch_op.add_column(sa.Column('calls_until', sa.Time(), nullable=False, server_default='19:00:00'))



def downgrade() -> None:
    with op.batch_alter_table('schoolpolicy', schema=None) as batch_op:
        batch_op.drop_column('calls_until')
        batch_op.drop_column('calls_from')
        batch_op.drop_column('call_at_chase')
        batch_op.drop_column('calls_enabled')

    with op.batch_alter_table('contact', schema=None) as batch_op:
        batch_op.drop_column('prefers_calls')
        batch_op.drop_column('phone')

    with op.batch_alter_table('absencecase', schema=None) as batch_op:
        batch_op.drop_column('chase_count')

    with op.batch_alter_table('voicecall', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_voicecall_school_id'))
        batch_op.drop_index(batch_op.f('ix_voicecall_call_sid'))

    op.drop_table('voicecall')
