"""OAuth 2.0 / OpenID Connect provider: clients, authorization codes, issued tokens,
remembered consent, and the identity provider's login sessions.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-28 12:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def _when(name: str, nullable: bool = False) -> sa.Column:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "idp_login_sessions",
        sa.Column("id_hash", sa.String(length=64), nullable=False),
        sa.Column("sid", sa.String(length=36), nullable=False),
        sa.Column("person_id", sa.String(length=36), nullable=True),
        _when("auth_time", nullable=True),
        sa.Column("amr", sa.JSON(), nullable=True),
        sa.Column("csrf_token", sa.String(length=64), nullable=False),
        sa.Column("data", sa.JSON(), nullable=False),
        _when("created_at"),
        _when("last_seen_at"),
        _when("expires_at"),
        sa.PrimaryKeyConstraint("id_hash"),
        sa.UniqueConstraint("sid"),
    )
    op.create_index("ix_idp_login_sessions_expires_at", "idp_login_sessions", ["expires_at"])
    op.create_index("ix_idp_login_sessions_person_id", "idp_login_sessions", ["person_id"])
    op.create_table(
        "oauth_clients",
        sa.Column("client_id", sa.String(length=64), nullable=False),
        sa.Column("secret_hash", sa.String(length=128), nullable=True),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("redirect_uris", sa.JSON(), nullable=False),
        sa.Column("grant_types", sa.JSON(), nullable=False),
        sa.Column("response_types", sa.JSON(), nullable=False),
        sa.Column("scopes", sa.JSON(), nullable=False),
        sa.Column("token_endpoint_auth_method", sa.String(length=32), nullable=False),
        sa.Column("id_token_signed_response_alg", sa.String(length=8), nullable=False),
        sa.Column("access_token_signed_response_alg", sa.String(length=8), nullable=False),
        sa.Column("access_token_format", sa.String(length=8), nullable=False),
        sa.Column("subject_type", sa.String(length=16), nullable=False),
        sa.Column("sector_identifier", sa.String(length=255), nullable=False),
        sa.Column("first_party", sa.Boolean(), nullable=False),
        sa.Column("require_pkce", sa.Boolean(), nullable=False),
        sa.Column("require_par", sa.Boolean(), nullable=False),
        sa.Column("jwks", sa.JSON(), nullable=True),
        _when("created_at"),
        sa.PrimaryKeyConstraint("client_id"),
    )
    op.create_table(
        "oauth_authorization_codes",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("code_hash", sa.String(length=64), nullable=False),
        sa.Column("client_id", sa.String(length=64), nullable=False),
        sa.Column("person_id", sa.String(length=36), nullable=False),
        sa.Column("redirect_uri", sa.Text(), nullable=False),
        sa.Column("scope", sa.Text(), nullable=False),
        sa.Column("nonce", sa.String(length=255), nullable=True),
        sa.Column("code_challenge", sa.String(length=128), nullable=True),
        sa.Column("code_challenge_method", sa.String(length=8), nullable=True),
        _when("auth_time"),
        sa.Column("acr", sa.String(length=64), nullable=True),
        sa.Column("amr", sa.JSON(), nullable=False),
        sa.Column("sid", sa.String(length=64), nullable=True),
        _when("created_at"),
        _when("expires_at"),
        _when("used_at", nullable=True),
        sa.ForeignKeyConstraint(["client_id"], ["oauth_clients.client_id"],
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("code_hash"),
    )
    op.create_index("ix_oauth_authorization_codes_client_id", "oauth_authorization_codes",
                    ["client_id"])
    op.create_index("ix_oauth_authorization_codes_person_id", "oauth_authorization_codes",
                    ["person_id"])
    op.create_table(
        "oauth_consents",
        sa.Column("person_id", sa.String(length=36), nullable=False),
        sa.Column("client_id", sa.String(length=64), nullable=False),
        sa.Column("scopes", sa.JSON(), nullable=False),
        _when("granted_at"),
        sa.ForeignKeyConstraint(["client_id"], ["oauth_clients.client_id"],
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("person_id", "client_id"),
    )
    op.create_table(
        "oauth_tokens",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("client_id", sa.String(length=64), nullable=False),
        sa.Column("person_id", sa.String(length=36), nullable=True),
        sa.Column("scope", sa.Text(), nullable=False),
        sa.Column("token_format", sa.String(length=8), nullable=False),
        sa.Column("access_token_hash", sa.String(length=64), nullable=False),
        sa.Column("refresh_token_hash", sa.String(length=64), nullable=True),
        sa.Column("family_id", sa.String(length=36), nullable=False),
        sa.Column("authorization_code_id", sa.String(length=36), nullable=True),
        sa.Column("sid", sa.String(length=64), nullable=True),
        _when("auth_time", nullable=True),
        sa.Column("acr", sa.String(length=64), nullable=True),
        sa.Column("amr", sa.JSON(), nullable=True),
        _when("issued_at"),
        _when("access_expires_at"),
        _when("refresh_expires_at", nullable=True),
        _when("access_revoked_at", nullable=True),
        _when("refresh_revoked_at", nullable=True),
        _when("refresh_used_at", nullable=True),
        sa.ForeignKeyConstraint(["client_id"], ["oauth_clients.client_id"],
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("access_token_hash"),
        sa.UniqueConstraint("refresh_token_hash"),
    )
    for column in ("authorization_code_id", "client_id", "family_id", "person_id"):
        op.create_index(f"ix_oauth_tokens_{column}", "oauth_tokens", [column])


def downgrade() -> None:
    for column in ("person_id", "family_id", "client_id", "authorization_code_id"):
        op.drop_index(f"ix_oauth_tokens_{column}", table_name="oauth_tokens")
    op.drop_table("oauth_tokens")
    op.drop_table("oauth_consents")
    op.drop_index("ix_oauth_authorization_codes_person_id",
                  table_name="oauth_authorization_codes")
    op.drop_index("ix_oauth_authorization_codes_client_id",
                  table_name="oauth_authorization_codes")
    op.drop_table("oauth_authorization_codes")
    op.drop_table("oauth_clients")
    op.drop_index("ix_idp_login_sessions_person_id", table_name="idp_login_sessions")
    op.drop_index("ix_idp_login_sessions_expires_at", table_name="idp_login_sessions")
    op.drop_table("idp_login_sessions")
