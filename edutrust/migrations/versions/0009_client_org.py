"""OAuth clients may act for a directory organisation (``org_id``): a school's system
registering records with the client_credentials grant acts for that school.

Revision ID: 0009_client_org
Revises: 0008
Create Date: 2026-11-28 13:20:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0009_client_org"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("oauth_clients", schema=None) as batch_op:
        batch_op.add_column(sa.Column("org_id", sa.String(length=36), nullable=True))
        batch_op.create_foreign_key("fk_oauth_clients_org_id", "directory_organisations",
                                    ["org_id"], ["id"], ondelete="RESTRICT")


def downgrade() -> None:
    with op.batch_alter_table("oauth_clients", schema=None) as batch_op:
        batch_op.drop_constraint("fk_oauth_clients_org_id", type_="foreignkey")
        batch_op.drop_column("org_id")
