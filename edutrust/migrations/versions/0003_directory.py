"""Directory tables: organisations (a tree), people (phone and ID-card numbers sealed,
with blind indexes), memberships and guardian links.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-28 10:50:24.217189
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "directory_organisations",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("code", sa.String(length=18), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("parent_id", sa.String(length=36), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("kind IN ('national', 'province', 'city', 'county', 'school', "
                           "'bureau', 'enterprise')", name="ck_directory_organisations_kind"),
        sa.ForeignKeyConstraint(["parent_id"], ["directory_organisations.id"],
                                ondelete="RESTRICT"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("code", name="uq_directory_organisations_code"),
    )
    op.create_index("ix_directory_organisations_parent_id", "directory_organisations",
                    ["parent_id"], unique=False)
    op.create_table(
        "directory_people",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("username", sa.String(length=64), nullable=False),
        sa.Column("display_name", sa.String(length=200), nullable=False),
        sa.Column("email", sa.String(length=254), nullable=True),
        sa.Column("email_verified", sa.Boolean(), nullable=False),
        sa.Column("phone_sealed", sa.Text(), nullable=True),
        sa.Column("phone_index", sa.String(length=64), nullable=True),
        sa.Column("id_card_sealed", sa.Text(), nullable=True),
        sa.Column("id_card_index", sa.String(length=64), nullable=True),
        sa.Column("student_number", sa.String(length=32), nullable=True),
        sa.Column("birth_date", sa.Date(), nullable=True),
        sa.Column("password_hash", sa.String(length=200), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("id_card_index", name="uq_directory_people_id_card_index"),
        sa.UniqueConstraint("student_number", name="uq_directory_people_student_number"),
        sa.UniqueConstraint("username", name="uq_directory_people_username"),
    )
    op.create_index("ix_directory_people_phone_index", "directory_people", ["phone_index"],
                    unique=False)
    op.create_table(
        "directory_guardian_links",
        sa.Column("guardian_id", sa.String(length=36), nullable=False),
        sa.Column("minor_id", sa.String(length=36), nullable=False),
        sa.Column("relation", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["guardian_id"], ["directory_people.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["minor_id"], ["directory_people.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("guardian_id", "minor_id"),
    )
    op.create_index("ix_directory_guardian_links_minor", "directory_guardian_links",
                    ["minor_id"], unique=False)
    op.create_table(
        "directory_memberships",
        sa.Column("person_id", sa.String(length=36), nullable=False),
        sa.Column("organisation_id", sa.String(length=36), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("role IN ('student', 'teacher', 'staff', 'guardian', 'regulator', "
                           "'operator')", name="ck_directory_memberships_role"),
        sa.ForeignKeyConstraint(["organisation_id"], ["directory_organisations.id"],
                                ondelete="RESTRICT"),
        sa.ForeignKeyConstraint(["person_id"], ["directory_people.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("person_id", "organisation_id", "role"),
    )
    op.create_index("ix_directory_memberships_organisation", "directory_memberships",
                    ["organisation_id"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_directory_memberships_organisation", table_name="directory_memberships")
    op.drop_table("directory_memberships")
    op.drop_index("ix_directory_guardian_links_minor", table_name="directory_guardian_links")
    op.drop_table("directory_guardian_links")
    op.drop_index("ix_directory_people_phone_index", table_name="directory_people")
    op.drop_table("directory_people")
    op.drop_index("ix_directory_organisations_parent_id", table_name="directory_organisations")
    op.drop_table("directory_organisations")
