"""OpenID Connect logout: clients' post-logout redirect URIs and back-channel logout URI,
an index on the tokens' session id, and the back-channel logout deliveries.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-28 12:10:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

_DELIVERIES = "oidc_backchannel_logout_deliveries"


def _when(name: str, nullable: bool = True) -> sa.Column:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    with op.batch_alter_table("oauth_clients", schema=None) as batch_op:
        batch_op.add_column(sa.Column("post_logout_redirect_uris", sa.JSON(), nullable=False,
                                      server_default=sa.text("'[]'")))
        batch_op.add_column(sa.Column("backchannel_logout_uri", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("backchannel_logout_session_required", sa.Boolean(),
                                      nullable=False, server_default=sa.false()))
    with op.batch_alter_table("oauth_tokens", schema=None) as batch_op:
        batch_op.create_index("ix_oauth_tokens_sid", ["sid"], unique=False)
    op.create_table(
        _DELIVERIES,
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("client_id", sa.String(length=64), nullable=False),
        sa.Column("sid", sa.String(length=64), nullable=False),
        sa.Column("subject", sa.String(length=255), nullable=False),
        sa.Column("uri", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        _when("next_attempt_at"),
        sa.Column("last_status", sa.Integer(), nullable=True),
        sa.Column("last_error", sa.String(length=255), nullable=True),
        _when("created_at", nullable=False),
        _when("last_attempt_at"),
        _when("delivered_at"),
        sa.PrimaryKeyConstraint("id"),
    )
    for column in ("client_id", "sid", "status"):
        op.create_index(f"ix_{_DELIVERIES}_{column}", _DELIVERIES, [column])


def downgrade() -> None:
    for column in ("status", "sid", "client_id"):
        op.drop_index(f"ix_{_DELIVERIES}_{column}", table_name=_DELIVERIES)
    op.drop_table(_DELIVERIES)
    with op.batch_alter_table("oauth_tokens", schema=None) as batch_op:
        batch_op.drop_index("ix_oauth_tokens_sid")
    with op.batch_alter_table("oauth_clients", schema=None) as batch_op:
        batch_op.drop_column("backchannel_logout_session_required")
        batch_op.drop_column("backchannel_logout_uri")
        batch_op.drop_column("post_logout_redirect_uris")
