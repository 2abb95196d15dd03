"""Tables: links, and the files some links point to. Everything durable lives here."""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, column_property, mapped_column, relationship

from shortener.extensions import db


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(sa.TypeDecorator):
    """A timestamp stored in UTC and always read back timezone-aware (SQLite drops the zone)."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect) -> datetime | None:
        if value is not None and value.tzinfo is None:
            raise ValueError("naive datetime given; use an aware one")
        return value.astimezone(UTC) if value is not None else None

    def process_result_value(self, value: datetime | None, dialect) -> datetime | None:
        if value is not None and value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value


BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


class LinkVisits(db.Model):
    """Visits written by the flush: a narrow row per visited link (see shortener/visits.py).

    Kept apart from `links` so that counting never rewrites a link's wide row.
    """

    __tablename__ = "link_visits"

    link_id: Mapped[int] = mapped_column(
        BigId, sa.ForeignKey("links.id", ondelete="CASCADE"), primary_key=True
    )
    visits: Mapped[int] = mapped_column(sa.BigInteger, default=0, server_default="0")
    last_visited_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class LinkGeneration(db.Model):
    """One row whose number database triggers bump on every change a cached link could miss.

    Workers compare it to drop their cached links (shortener/resolver.py); nothing writes it
    but the triggers of migration 0002.
    """

    __tablename__ = "link_generation"

    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True)
    generation: Mapped[int] = mapped_column(sa.BigInteger, default=0, server_default="0")


class Link(db.Model):
    __tablename__ = "links"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    # The unique index is what settles two requests racing for the same code.
    code: Mapped[str] = mapped_column(sa.String(64), unique=True)
    target_url: Mapped[str | None] = mapped_column(sa.Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    disabled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # What releases before link_visits counted here; still part of the total.
    stored_visits: Mapped[int] = mapped_column(
        "visits", sa.BigInteger, default=0, server_default="0"
    )
    stored_last_visited_at: Mapped[datetime | None] = mapped_column("last_visited_at", UTCDateTime)
    # Opaque id of the browser session that made the link, for "your links".
    owner: Mapped[str | None] = mapped_column(sa.String(64), index=True)

    # Written visits, whichever table holds them (the pending ones are in each worker).
    visits: Mapped[int] = column_property(
        stored_visits
        + sa.func.coalesce(
            sa.select(LinkVisits.visits).where(LinkVisits.link_id == id).scalar_subquery(), 0
        )
    )
    last_visited_at: Mapped[datetime | None] = column_property(
        sa.type_coerce(
            sa.func.coalesce(
                sa.select(LinkVisits.last_visited_at)
                .where(LinkVisits.link_id == id)
                .scalar_subquery(),
                stored_last_visited_at,
            ),
            UTCDateTime,
        )
    )

    file: Mapped[StoredFile | None] = relationship(
        back_populates="link", uselist=False, cascade="all, delete-orphan", lazy="select"
    )

    @property
    def is_file(self) -> bool:
        return self.target_url is None

    def state(self, now: datetime | None = None) -> str:
        """'active', 'disabled' or 'expired'."""
        if self.disabled_at is not None:
            return "disabled"
        if self.expires_at is not None and self.expires_at <= (now or utcnow()):
            return "expired"
        return "active"


class StoredFile(db.Model):
    __tablename__ = "link_files"

    link_id: Mapped[int] = mapped_column(
        BigId, sa.ForeignKey("links.id", ondelete="CASCADE"), primary_key=True
    )
    filename: Mapped[str] = mapped_column(sa.String(255))
    content_type: Mapped[str] = mapped_column(sa.String(255))
    size: Mapped[int] = mapped_column(sa.Integer)
    # Loaded only when the file is downloaded, never with the link.
    data: Mapped[bytes] = mapped_column(sa.LargeBinary, deferred=True)

    link: Mapped[Link] = relationship(back_populates="file")
