"""OIDC ``claims`` requests and RFC 8707 resources carried by authorization codes and
tokens, each access token's audience, registered resource servers, and the indexes the
purge of expired rows uses.

Revision ID: 0013_oauth_claims_resources
Revises: 0012_passkeys
Create Date: 2026-11-28 13:45:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0013_oauth_claims_resources"
down_revision = "0012_passkeys"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "oauth_resource_servers",
        sa.Column("identifier", sa.String(length=255), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("scopes", sa.JSON(), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("identifier"),
    )
    with op.batch_alter_table("oauth_authorization_codes", schema=None) as batch_op:
        batch_op.add_column(sa.Column("claims", sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column("resources", sa.JSON(), nullable=True))
        batch_op.create_index(batch_op.f("ix_oauth_authorization_codes_expires_at"),
                              ["expires_at"], unique=False)
    with op.batch_alter_table("oauth_tokens", schema=None) as batch_op:
        batch_op.add_column(sa.Column("claims", sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column("resources", sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column("audience", sa.JSON(), nullable=True))
        batch_op.create_index(batch_op.f("ix_oauth_tokens_access_expires_at"),
                              ["access_expires_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("oauth_tokens", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_oauth_tokens_access_expires_at"))
        batch_op.drop_column("audience")
        batch_op.drop_column("resources")
        batch_op.drop_column("claims")
    with op.batch_alter_table("oauth_authorization_codes", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_oauth_authorization_codes_expires_at"))
        batch_op.drop_column("resources")
        batch_op.drop_column("claims")
    op.drop_table("oauth_resource_servers")
