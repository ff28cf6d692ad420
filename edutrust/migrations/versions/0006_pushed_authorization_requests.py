"""Pushed authorization requests (RFC 9126): one row per pushed request, redeemable once.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-28 12:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "oauth_pushed_requests",
        sa.Column("id_hash", sa.String(length=64), nullable=False),
        sa.Column("client_id", sa.String(length=64), nullable=False),
        sa.Column("params", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["client_id"], ["oauth_clients.client_id"],
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id_hash"),
    )
    with op.batch_alter_table("oauth_pushed_requests", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_oauth_pushed_requests_client_id"),
                              ["client_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_oauth_pushed_requests_expires_at"),
                              ["expires_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("oauth_pushed_requests", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_oauth_pushed_requests_expires_at"))
        batch_op.drop_index(batch_op.f("ix_oauth_pushed_requests_client_id"))
    op.drop_table("oauth_pushed_requests")
