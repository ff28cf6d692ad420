"""Passkeys (WebAuthn): registered credentials, the attestation organisations require,
and ceremonies waiting for an answer (when there is no Redis).

Revision ID: 0012_passkeys
Revises: 0011_admin_operator_clients
Create Date: 2026-11-28 13:40:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0012_passkeys"
down_revision = "0011_admin_operator_clients"
branch_labels = None
depends_on = None

_CREDENTIALS = "webauthn_credentials"
_POLICIES = "webauthn_org_policies"
_CEREMONIES = "webauthn_ceremonies"


def upgrade() -> None:
    op.create_table(
        _CREDENTIALS,
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("person_id", sa.String(length=36), nullable=False),
        sa.Column("credential_id", sa.String(length=1400), nullable=False),
        sa.Column("user_handle", sa.String(length=88), nullable=False),
        sa.Column("public_key", sa.LargeBinary(), nullable=False),
        sa.Column("sign_count", sa.BigInteger(), nullable=False),
        sa.Column("transports", sa.JSON(), nullable=False),
        sa.Column("aaguid", sa.String(length=36), nullable=False),
        sa.Column("attestation_format", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("backup_eligible", sa.Boolean(), nullable=False),
        sa.Column("backed_up", sa.Boolean(), nullable=False),
        sa.Column("possibly_cloned", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_used_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["person_id"], ["directory_people.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("credential_id", name="uq_webauthn_credentials_credential_id"),
    )
    op.create_index(f"ix_{_CREDENTIALS}_person_id", _CREDENTIALS, ["person_id"])
    op.create_index(f"ix_{_CREDENTIALS}_user_handle", _CREDENTIALS, ["user_handle"])
    op.create_table(
        _POLICIES,
        sa.Column("organisation_id", sa.String(length=36), nullable=False),
        sa.Column("attestation", sa.String(length=8), nullable=False),
        sa.Column("root_certificates", sa.Text(), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("attestation IN ('none', 'direct')",
                           name="ck_webauthn_org_policies_attestation"),
        sa.ForeignKeyConstraint(["organisation_id"], ["directory_organisations.id"],
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("organisation_id"),
    )
    op.create_table(
        _CEREMONIES,
        sa.Column("key", sa.String(length=96), nullable=False),
        sa.Column("value", sa.Text(), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("key"),
    )
    op.create_index(f"ix_{_CEREMONIES}_expires_at", _CEREMONIES, ["expires_at"])


def downgrade() -> None:
    op.drop_index(f"ix_{_CEREMONIES}_expires_at", table_name=_CEREMONIES)
    op.drop_table(_CEREMONIES)
    op.drop_table(_POLICIES)
    op.drop_index(f"ix_{_CREDENTIALS}_user_handle", table_name=_CREDENTIALS)
    op.drop_index(f"ix_{_CREDENTIALS}_person_id", table_name=_CREDENTIALS)
    op.drop_table(_CREDENTIALS)
