"""Ledger tables: channels, blocks, transactions, world state and history, Merkle leaves
and nodes, checkpoints, witness state and the pending queue.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-28 10:41:04.016428
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "ledger_blocks",
        sa.Column("channel_id", sa.String(length=64), nullable=False),
        sa.Column("number", sa.BigInteger(), nullable=False),
        sa.Column("header", sa.LargeBinary(), nullable=False),
        sa.Column("hash", sa.LargeBinary(), nullable=False),
        sa.Column("signature", sa.LargeBinary(), nullable=False),
        sa.Column("signer", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("channel_id", "number"),
    )
    op.create_table(
        "ledger_channels",
        sa.Column("channel_id", sa.String(length=64), nullable=False),
        sa.Column("config", sa.LargeBinary(), nullable=False),
        sa.Column("height", sa.BigInteger(), nullable=False),
        sa.Column("tree_size", sa.BigInteger(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("channel_id"),
    )
    op.create_table(
        "ledger_checkpoints",
        sa.Column("channel_id", sa.String(length=64), nullable=False),
        sa.Column("tree_size", sa.BigInteger(), nullable=False),
        sa.Column("note", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("channel_id", "tree_size"),
    )
    op.create_table(
        "ledger_history",
        sa.Column("channel_id", sa.String(length=64), nullable=False),
        sa.Column("namespace", sa.String(length=64), nullable=False),
        sa.Column("key", sa.String(length=256), nullable=False),
        sa.Column("block", sa.BigInteger(), nullable=False),
        sa.Column("tx_num", sa.Integer(), nullable=False),
        sa.Column("tx_id", sa.String(length=64), nullable=False),
        sa.Column("value", sa.LargeBinary(), nullable=True),
        sa.Column("timestamp", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("channel_id", "namespace", "key", "block", "tx_num"),
    )
    op.create_table(
        "ledger_leaves",
        sa.Column("channel_id", sa.String(length=64), nullable=False),
        sa.Column("leaf_index", sa.BigInteger(), nullable=False),
        sa.Column("leaf", sa.LargeBinary(), nullable=False),
        sa.Column("block", sa.BigInteger(), nullable=False),
        sa.Column("tx_id", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("channel_id", "leaf_index"),
    )
    op.create_table(
        "ledger_nodes",
        sa.Column("channel_id", sa.String(length=64), nullable=False),
        sa.Column("level", sa.Integer(), nullable=False),
        sa.Column("node_index", sa.BigInteger(), nullable=False),
        sa.Column("hash", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("channel_id", "level", "node_index"),
    )
    op.create_table(
        "ledger_pending",
        sa.Column("seq", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("channel_id", sa.String(length=64), nullable=False),
        sa.Column("tx_id", sa.String(length=64), nullable=False),
        sa.Column("envelope", sa.LargeBinary(), nullable=False),
        sa.Column("config_tx", sa.Integer(), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("seq"),
        sa.UniqueConstraint("tx_id"),
    )
    with op.batch_alter_table("ledger_pending", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_ledger_pending_channel_id"), ["channel_id"], unique=False
        )

    op.create_table(
        "ledger_state",
        sa.Column("channel_id", sa.String(length=64), nullable=False),
        sa.Column("namespace", sa.String(length=64), nullable=False),
        sa.Column("key", sa.String(length=256), nullable=False),
        sa.Column("value", sa.LargeBinary(), nullable=False),
        sa.Column("block", sa.BigInteger(), nullable=False),
        sa.Column("tx_num", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("channel_id", "namespace", "key"),
    )
    op.create_table(
        "ledger_transactions",
        sa.Column("channel_id", sa.String(length=64), nullable=False),
        sa.Column("block", sa.BigInteger(), nullable=False),
        sa.Column("tx_num", sa.Integer(), nullable=False),
        sa.Column("tx_id", sa.String(length=64), nullable=False),
        sa.Column("envelope", sa.LargeBinary(), nullable=False),
        sa.Column("code", sa.String(length=40), nullable=False),
        sa.Column("leaf_start", sa.BigInteger(), nullable=True),
        sa.Column("leaf_count", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("channel_id", "block", "tx_num"),
    )
    with op.batch_alter_table("ledger_transactions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_ledger_transactions_tx_id"), ["tx_id"], unique=False)

    op.create_table(
        "ledger_witness_state",
        sa.Column("channel_id", sa.String(length=64), nullable=False),
        sa.Column("witness", sa.String(length=128), nullable=False),
        sa.Column("state", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("channel_id", "witness"),
    )


def downgrade() -> None:
    op.drop_table("ledger_witness_state")
    with op.batch_alter_table("ledger_transactions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_ledger_transactions_tx_id"))

    op.drop_table("ledger_transactions")
    op.drop_table("ledger_state")
    with op.batch_alter_table("ledger_pending", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_ledger_pending_channel_id"))

    op.drop_table("ledger_pending")
    op.drop_table("ledger_nodes")
    op.drop_table("ledger_leaves")
    op.drop_table("ledger_history")
    op.drop_table("ledger_checkpoints")
    op.drop_table("ledger_channels")
    op.drop_table("ledger_blocks")
