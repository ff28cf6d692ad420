"""Records' envelopes sealed to bytes: ``records_versions.sealed`` (SM4-GCM token as
bytes, ``crypto.fields.FieldCipher.seal_bytes``), and ``envelope`` may be empty when it
is set. Rows written before keep their text (JSON or a text token) and are read as they
are.

Revision ID: 0018_records_sealed_envelopes
Revises: 0017_oauth_revoked_access_tokens
Create Date: 2026-11-28 21:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0018_records_sealed_envelopes"
down_revision = "0017_oauth_revoked_access_tokens"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("records_versions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("sealed", sa.LargeBinary(), nullable=True))
        batch_op.alter_column("envelope", existing_type=sa.Text(), nullable=True)


def downgrade() -> None:
    # Rows sealed to bytes cannot go back to the text column without the data key:
    # refuse rather than lose them. (A store without a field cipher, which edutrust
    # never runs, would also have written envelopes in the compact stored form, which
    # the code before this revision does not read.)
    bind = op.get_bind()
    count = bind.execute(sa.text(
        "SELECT COUNT(*) FROM records_versions WHERE sealed IS NOT NULL")).scalar_one()
    if count:
        raise RuntimeError(f"{count} record versions are sealed to bytes; "
                           f"downgrading would lose them")
    with op.batch_alter_table("records_versions", schema=None) as batch_op:
        batch_op.alter_column("envelope", existing_type=sa.Text(), nullable=False)
        batch_op.drop_column("sealed")
