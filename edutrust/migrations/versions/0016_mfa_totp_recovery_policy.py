"""Multi-factor authentication: TOTP secrets (SM4-GCM sealed), recovery codes (salted
HMAC-SM3), per-organisation MFA policy and the security notices a person sees.

Revision ID: 0016_mfa_totp_recovery_policy
Revises: 0015_records_share_import_keys
Create Date: 2026-11-28 13:40:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0016_mfa_totp_recovery_policy"
down_revision = "0015_records_share_import_keys"
branch_labels = None
depends_on = None


def _when(name: str, nullable: bool = False) -> sa.Column:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def _person() -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(["person_id"], ["directory_people.id"], ondelete="CASCADE")


def upgrade() -> None:
    op.create_table(
        "mfa_totp",
        sa.Column("person_id", sa.String(length=36), nullable=False),
        sa.Column("secret_sealed", sa.Text(), nullable=True),
        _when("confirmed_at", nullable=True),
        sa.Column("pending_sealed", sa.Text(), nullable=True),
        _when("pending_since", nullable=True),
        sa.Column("last_used_step", sa.BigInteger(), nullable=True),
        _person(),
        sa.PrimaryKeyConstraint("person_id"),
    )
    op.create_table(
        "mfa_recovery_codes",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("person_id", sa.String(length=36), nullable=False),
        sa.Column("code_hash", sa.String(length=128), nullable=False),
        _when("created_at"),
        _when("used_at", nullable=True),
        _person(),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_mfa_recovery_codes_person", "mfa_recovery_codes", ["person_id"])
    op.create_table(
        "mfa_org_policies",
        sa.Column("organisation_id", sa.String(length=36), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("requirement", sa.String(length=8), nullable=False),
        _when("updated_at"),
        sa.CheckConstraint("requirement IN ('none', 'mfa', 'phr')",
                           name="ck_mfa_org_policies_requirement"),
        sa.ForeignKeyConstraint(["organisation_id"], ["directory_organisations.id"],
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("organisation_id", "role"),
    )
    op.create_table(
        "mfa_notices",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("person_id", sa.String(length=36), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("details", sa.JSON(), nullable=False),
        _when("created_at"),
        _when("seen_at", nullable=True),
        _person(),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_mfa_notices_person", "mfa_notices", ["person_id", "seen_at"])


def downgrade() -> None:
    op.drop_index("ix_mfa_notices_person", table_name="mfa_notices")
    op.drop_table("mfa_notices")
    op.drop_table("mfa_org_policies")
    op.drop_index("ix_mfa_recovery_codes_person", table_name="mfa_recovery_codes")
    op.drop_table("mfa_recovery_codes")
    op.drop_table("mfa_totp")
