"""account life cycle: deactivation, token generations, invite ids and revocation,
failed sign-ins

Users get ``deactivated_at`` and ``token_generation`` (every existing token is of
generation 0, so it keeps working). Invites get a public ``invite_id`` (a random id for
each invite already stored) and ``revoked_at``. ``login_failures`` counts failed sign-ins
per account and per client address for the throttle.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-10
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(sa.Column("deactivated_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(
            sa.Column("token_generation", sa.Integer(), server_default=sa.text("0"), nullable=False)
        )

    with op.batch_alter_table("invites", schema=None) as batch_op:
        batch_op.add_column(sa.Column("invite_id", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True))
    invites = sa.table("invites", sa.column("token_sha256"), sa.column("invite_id"))
    conn = op.get_bind()
    for (token_sha256,) in conn.execute(sa.select(invites.c.token_sha256)).all():
        conn.execute(
            invites.update()
            .where(invites.c.token_sha256 == token_sha256)
            .values(invite_id=str(uuid.uuid4()))
        )
    with op.batch_alter_table("invites", schema=None) as batch_op:
        batch_op.alter_column("invite_id", existing_type=sa.String(length=64), nullable=False)
        batch_op.create_unique_constraint("uq_invites_invite_id", ["invite_id"])

    op.create_table(
        "login_failures",
        sa.Column("scope", sa.String(length=16), nullable=False),
        sa.Column("key_sha256", sa.String(length=64), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("last_failure_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("blocked_until", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("scope", "key_sha256"),
    )


def downgrade() -> None:
    op.drop_table("login_failures")
    with op.batch_alter_table("invites", schema=None) as batch_op:
        batch_op.drop_constraint("uq_invites_invite_id", type_="unique")
        batch_op.drop_column("revoked_at")
        batch_op.drop_column("invite_id")
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_column("token_generation")
        batch_op.drop_column("deactivated_at")
