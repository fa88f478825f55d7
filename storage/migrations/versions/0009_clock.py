"""Job runs remember which clock ran them, how often they were tried and when to try again.

A run left "running" by a clock that lost its lease is retried at once by the next leader; a failed
run is retried with backoff (``scheduler.runs``). Existing rows count as tried once.

Revision ID: 0009_clock
Revises: 0008_sender
Create Date: 2026-11-30 12:30:00.000000
"""
from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel  # noqa: F401
from alembic import op

import storage.types  # noqa: F401


revision: str = '0009_clock'
down_revision: str | None = '0008_sender'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('jobrun', schema=None) as batch_op:
        batch_op.add_column(sa.Column('holder', sqlmodel.sql.sqltypes.AutoString(length=120), nullable=True))
        batch_op.add_column(sa.Column('attempts', sa.Integer(), server_default='1', nullable=False))
        batch_op.add_column(sa.Column('retry_at', storage.types.UTCDateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('jobrun', schema=None) as batch_op:
        batch_op.drop_column('retry_at')
        batch_op.drop_column('attempts')
        batch_op.drop_column('holder')
