"""Platform keys (SM2 and SM4, wrapped under the master key, by id and version) and the
platform's certificates (its root CA).

Revision ID: 0001
Revises:
Create Date: 2026-11-28
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "platform_keys",
        sa.Column("key_id", sa.String(64), primary_key=True),
        sa.Column("version", sa.Integer, primary_key=True),
        sa.Column("algorithm", sa.String(8), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("retired_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("wrapped", sa.LargeBinary, nullable=False),
        sa.Column("public_der", sa.LargeBinary, nullable=True),
    )


    op.create_table(
        "platform_certificates",
        sa.Column("name", sa.String(64), primary_key=True),
        sa.Column("pem", sa.Text, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("platform_certificates")
    op.drop_table("platform_keys")
