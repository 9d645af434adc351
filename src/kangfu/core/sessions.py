"""Django's database sessions, with the row read by a statement compiled once (core.compiled)."""

from __future__ import annotations

from django.contrib.sessions.backends import db
from django.contrib.sessions.models import Session
from django.utils import timezone

from kangfu.core.compiled import KeyedLookup

_LIVE = KeyedLookup(Session, ("session_key", "expire_date__gt"))


class SessionStore(db.SessionStore):
    """Read on every request; written only when the session changes (SessionLifetimeMiddleware)."""

    def _get_session_from_db(self):
        found = _LIVE.get(session_key=self.session_key, expire_date__gt=timezone.now())
        if found is None:
            self._session_key = None  # as Django's: an unknown or expired key is dropped
        return found
