"""What is stored, to prove a refused request changed nothing: seed a few links, snapshot."""

from __future__ import annotations

import sqlalchemy as sa
from flask import Flask

from shortener.extensions import db
from shortener.links import Upload, create_link
from shortener.models import Link, StoredFile


def seed(app: Flask) -> None:
    """Two links a refused request must leave alone: a URL ('keep') and a file ('kept-file')."""
    with app.app_context():
        create_link(url="https://example.com/kept", code="keep")
        create_link(upload=Upload("notes.txt", "text/plain", b"kept bytes"), code="kept-file")
        db.session.remove()


def snapshot(app: Flask) -> tuple[list, list]:
    """Every row of links and link_files, in order."""
    with app.app_context():
        links = db.session.execute(sa.select(Link.__table__).order_by(Link.id)).all()
        files = db.session.execute(
            sa.select(StoredFile.__table__).order_by(StoredFile.link_id)
        ).all()
        db.session.remove()
    return [tuple(row) for row in links], [tuple(row) for row in files]


def assert_unchanged(app: Flask, before: tuple[list, list]) -> None:
    after = snapshot(app)
    assert len(after[0]) == len(before[0]), "a link was stored"
    assert after == before, "a stored link changed"
