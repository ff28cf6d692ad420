"""Records: share codes (records.sharing) and the natural keys of imported rows
(records.importer).

Revision ID: 0015_records_share_import_keys
Revises: 0014_minors_password_reset
Create Date: 2026-11-28 13:20:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0015_records_share_import_keys"
down_revision = "0014_minors_password_reset"
branch_labels = None
depends_on = None


def _when(name: str, nullable: bool = False) -> sa.Column:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "records_share_codes",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("code_hash", sa.String(length=64), nullable=False),
        sa.Column("hint", sa.String(length=8), nullable=False),
        sa.Column("record_id", sa.String(length=36), nullable=False),
        sa.Column("version", sa.Integer(), nullable=True),
        sa.Column("holder_person", sa.String(length=200), nullable=True),
        sa.Column("holder_org", sa.String(length=40), nullable=True),
        sa.Column("fields", sa.Text(), nullable=False),
        sa.Column("note", sa.String(length=200), nullable=True),
        _when("created_at"),
        _when("expires_at"),
        _when("revoked_at", nullable=True),
        sa.Column("views", sa.Integer(), nullable=False),
        _when("last_viewed_at", nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("code_hash"),
    )
    with op.batch_alter_table("records_share_codes", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_records_share_codes_record_id"), ["record_id"],
                              unique=False)
        batch_op.create_index(batch_op.f("ix_records_share_codes_holder_person"),
                              ["holder_person"], unique=False)
        batch_op.create_index(batch_op.f("ix_records_share_codes_holder_org"),
                              ["holder_org"], unique=False)
    op.create_table(
        "records_import_keys",
        sa.Column("org_code", sa.String(length=40), nullable=False),
        sa.Column("natural_key", sa.String(length=64), nullable=False),
        sa.Column("record_id", sa.String(length=36), nullable=False),
        sa.Column("row_digest", sa.String(length=64), nullable=False),
        _when("created_at"),
        sa.PrimaryKeyConstraint("org_code", "natural_key"),
    )
    with op.batch_alter_table("records_import_keys", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_records_import_keys_record_id"), ["record_id"],
                              unique=False)


def downgrade() -> None:
    with op.batch_alter_table("records_import_keys", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_records_import_keys_record_id"))
    op.drop_table("records_import_keys")
    with op.batch_alter_table("records_share_codes", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_records_share_codes_holder_org"))
        batch_op.drop_index(batch_op.f("ix_records_share_codes_holder_person"))
        batch_op.drop_index(batch_op.f("ix_records_share_codes_record_id"))
    op.drop_table("records_share_codes")
