"""Operator clients: clients whose client_credentials tokens act for the platform's
operators on the admin API (admin/rbac.py).

Revision ID: 0011_admin_operator_clients
Revises: 0010_audit_log
Create Date: 2026-11-28 13:40:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0011_admin_operator_clients"
down_revision = "0010_audit_log"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "admin_operator_clients",
        sa.Column("client_id", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["client_id"], ["oauth_clients.client_id"],
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("client_id"),
    )


def downgrade() -> None:
    op.drop_table("admin_operator_clients")
