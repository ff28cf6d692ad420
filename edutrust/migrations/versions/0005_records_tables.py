"""Records tables: organisations that issue and review records and their certificates,
record versions, status lists and their anchored snapshots, anchors of lifecycle entries.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-28 10:56:30.729321
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def _when(name: str, nullable: bool = False) -> sa.Column:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "records_certificates",
        sa.Column("kid", sa.String(length=80), nullable=False),
        sa.Column("org_code", sa.String(length=40), nullable=False),
        sa.Column("pem", sa.Text(), nullable=False),
        sa.Column("serial", sa.String(length=64), nullable=False),
        _when("not_after"),
        _when("revoked_at", nullable=True),
        sa.Column("revocation_reason", sa.Integer(), nullable=True),
        _when("created_at"),
        sa.PrimaryKeyConstraint("kid"),
    )
    with op.batch_alter_table("records_certificates", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_records_certificates_org_code"), ["org_code"],
                              unique=False)

    op.create_table(
        "records_lifecycle_anchors",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("record_id", sa.String(length=36), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("anchor", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("record_id", "version", "seq"),
    )
    op.create_table(
        "records_organisations",
        sa.Column("code", sa.String(length=40), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("key_id", sa.String(length=64), nullable=False),
        sa.Column("capabilities", sa.Text(), nullable=False),
        sa.Column("region", sa.String(length=8), nullable=True),
        _when("created_at"),
        sa.PrimaryKeyConstraint("code"),
    )
    op.create_table(
        "records_status_lists",
        sa.Column("list_id", sa.String(length=100), nullable=False),
        sa.Column("org_code", sa.String(length=40), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("next_index", sa.Integer(), nullable=False),
        sa.Column("revocation", sa.LargeBinary(), nullable=False),
        sa.Column("suspension", sa.LargeBinary(), nullable=False),
        _when("updated_at"),
        sa.PrimaryKeyConstraint("list_id"),
    )
    with op.batch_alter_table("records_status_lists", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_records_status_lists_org_code"), ["org_code"],
                              unique=False)

    op.create_table(
        "records_status_snapshots",
        sa.Column("list_id", sa.String(length=100), nullable=False),
        sa.Column("purpose", sa.String(length=16), nullable=False),
        sa.Column("sequence", sa.Integer(), nullable=False),
        sa.Column("document", sa.Text(), nullable=False),
        sa.Column("anchor", sa.Text(), nullable=False),
        _when("valid_until"),
        sa.PrimaryKeyConstraint("list_id", "purpose", "sequence"),
    )
    op.create_table(
        "records_versions",
        sa.Column("record_id", sa.String(length=36), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("type", sa.String(length=32), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("issuer_org", sa.String(length=40), nullable=False),
        sa.Column("subject_kind", sa.String(length=16), nullable=False),
        sa.Column("subject_ref", sa.String(length=200), nullable=True),
        sa.Column("subject_org", sa.String(length=40), nullable=True),
        sa.Column("lookup", sa.String(length=80), nullable=True),
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column("filing_number", sa.String(length=32), nullable=True),
        sa.Column("envelope", sa.Text(), nullable=False),
        sa.Column("salt", sa.String(length=64), nullable=True),
        sa.Column("superseded_by", sa.Integer(), nullable=True),
        _when("created_at"),
        _when("updated_at"),
        sa.PrimaryKeyConstraint("record_id", "version"),
    )
    with op.batch_alter_table("records_versions", schema=None) as batch_op:
        for column in ("filing_number", "issuer_org", "lookup", "state", "subject_ref",
                       "type"):
            batch_op.create_index(batch_op.f(f"ix_records_versions_{column}"), [column],
                                  unique=False)


def downgrade() -> None:
    with op.batch_alter_table("records_versions", schema=None) as batch_op:
        for column in ("type", "subject_ref", "state", "lookup", "issuer_org",
                       "filing_number"):
            batch_op.drop_index(batch_op.f(f"ix_records_versions_{column}"))
    op.drop_table("records_versions")
    op.drop_table("records_status_snapshots")
    with op.batch_alter_table("records_status_lists", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_records_status_lists_org_code"))
    op.drop_table("records_status_lists")
    op.drop_table("records_organisations")
    op.drop_table("records_lifecycle_anchors")
    with op.batch_alter_table("records_certificates", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_records_certificates_org_code"))
    op.drop_table("records_certificates")
