"""sender: delivery under faults (expiry, outage tries, unknown outcomes, the claiming sender)

Revision ID: 0008_sender
Revises: 0007_privacy
Create Date: 2026-11-30 12:30:00

- ``outboxmessage``: ``valid_until`` (NULL for existing rows: they never expire), ``outage_tries``,
  ``resends``, ``claimed_by``, ``claim_token``;
- table ``providerhealth``: whether Twilio / the SMTP relay answer, for the operators.
"""
from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel  # noqa: F401
from alembic import op

import storage.types  # noqa: F401


revision: str = '0008_sender'
down_revision: str | None = '0007_privacy'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('providerhealth',
    sa.Column('name', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('failing_since', storage.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('last_error', sqlmodel.sql.sqltypes.AutoString(), nullable=True),
    sa.Column('last_ok_at', storage.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('updated_at', storage.types.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('name')
    )
    with op.batch_alter_table('outboxmessage', schema=None) as batch_op:
        batch_op.add_column(sa.Column('valid_until', storage.types.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('outage_tries', sa.Integer(), nullable=False, server_default='0'))
        batch_op.add_column(sa.Column('resends', sa.Integer(), nullable=False, server_default='0'))
        batch_op.add_column(sa.Column('claimed_by', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True))
        batch_op.add_column(sa.Column('claim_token', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('outboxmessage', schema=None) as batch_op:
        batch_op.drop_column('claim_token')
        batch_op.drop_column('claimed_by')
        batch_op.drop_column('resends')
        batch_op.drop_column('outage_tries')
        batch_op.drop_column('valid_until')
    op.drop_table('providerhealth')
