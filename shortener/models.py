"""Tables: links, and the files some links point to. Everything durable lives here."""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

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


class Link(db.Model):
    __tablename__ = "links"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    # The unique index is what settles two requests racing for the same code.
    code: Mapped[str] = mapped_column(sa.String(64), unique=True)
    target_url: Mapped[str | None] = mapped_column(sa.Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    disabled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    visits: Mapped[int] = mapped_column(sa.BigInteger, default=0, server_default="0")
    last_visited_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Opaque id of the browser session that made the link, for "your links".
    owner: Mapped[str | None] = mapped_column(sa.String(64), index=True)

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
