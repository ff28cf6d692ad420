"""Stateless client_credentials access tokens: the deny list of revoked ones (``jti``
until ``exp``).

Revision ID: 0017_oauth_revoked_access_tokens
Revises: 0016_mfa_totp_recovery_policy
Create Date: 2026-11-28 13:55:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0017_oauth_revoked_access_tokens"
down_revision = "0016_mfa_totp_recovery_policy"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "oauth_revoked_access_tokens",
        sa.Column("jti", sa.String(length=64), nullable=False),
        sa.Column("client_id", sa.String(length=64), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("jti"),
    )
    op.create_index("ix_oauth_revoked_access_tokens_expires_at",
                    "oauth_revoked_access_tokens", ["expires_at"])


def downgrade() -> None:
    op.drop_index("ix_oauth_revoked_access_tokens_expires_at",
                  table_name="oauth_revoked_access_tokens")
    op.drop_table("oauth_revoked_access_tokens")
