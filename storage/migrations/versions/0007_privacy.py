"""Retention policy per school: how long families' messages, replies, alert texts, links and the
register are kept before the purge (``bot.privacy``) removes or redacts them.

One JSON mapping holding only the keys a school changed (``{}`` for every existing school: the
defaults of ``bot.policy.DEFAULT_RETENTION`` apply).

Revision ID: 0007_privacy
Revises: 0006_voice
Create Date: 2026-11-30 12:40:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0007_privacy'
down_revision: str | None = '0006_voice'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('schoolpolicy', schema=None) as batch_op:
        batch_op.add_column(sa.Column('retention', sa.JSON(), nullable=False, server_default='{}'))


def downgrade() -> None:
    with op.batch_alter_table('schoolpolicy', schema=None) as batch_op:
        batch_op.drop_column('retention')
