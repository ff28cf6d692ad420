"""Guardian consent for children under 14 (PIPL art. 31) and one-time password reset
links issued by school administrators (SM3 digests of the tokens only).

Revision ID: 0014_minors_password_reset
Revises: 0013_oauth_claims_resources
Create Date: 2026-11-28 14:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0014_minors_password_reset"
down_revision = "0013_oauth_claims_resources"
branch_labels = None
depends_on = None


def _when(name: str, nullable: bool = False) -> sa.Column:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "guardian_consents",
        sa.Column("minor_id", sa.String(length=36), nullable=False),
        sa.Column("client_id", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("scopes", sa.JSON(), nullable=False),
        _when("requested_at"),
        _when("decided_at", nullable=True),
        sa.Column("guardian_id", sa.String(length=36), nullable=True),
        sa.PrimaryKeyConstraint("minor_id", "client_id"),
    )
    op.create_table(
        "password_reset_links",
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("person_id", sa.String(length=36), nullable=False),
        sa.Column("issued_by", sa.String(length=36), nullable=False),
        _when("created_at"),
        _when("expires_at"),
        _when("used_at", nullable=True),
        sa.PrimaryKeyConstraint("token_hash"),
    )
    op.create_index("ix_password_reset_links_person_id", "password_reset_links",
                    ["person_id"])


def downgrade() -> None:
    op.drop_index("ix_password_reset_links_person_id", table_name="password_reset_links")
    op.drop_table("password_reset_links")
    op.drop_table("guardian_consents")
