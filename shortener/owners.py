"""Which browser made which link: an opaque id kept in the signed session cookie."""

from __future__ import annotations

import secrets

from flask import session

KEY = "owner"


def current_owner(create: bool = False) -> str | None:
    """This browser's owner id; made (and the session made permanent) when `create`."""
    owner = session.get(KEY)
    if owner is None and create:
        owner = secrets.token_urlsafe(16)
        session[KEY] = owner
        session.permanent = True
    return owner
