"""Flask's signed-cookie session, with its signing serializer built once per key, not per request.

Flask builds a new serializer (keys, salt, signer settings) in every request's `open_session`,
even for a phone's request that carries no cookie at all; in a profile of the sync cycle that
was a fortieth of its CPU. The serializer holds nothing but those settings, so one per secret
key (and fallbacks) serves every request.
"""

from __future__ import annotations

from flask import Flask
from flask.sessions import SecureCookieSessionInterface
from itsdangerous import URLSafeTimedSerializer


class CachedSerializerSessionInterface(SecureCookieSessionInterface):
    """SecureCookieSessionInterface, keeping the serializer while the keys stay the same."""

    def __init__(self) -> None:
        self._serializers: dict[tuple, URLSafeTimedSerializer | None] = {}

    def get_signing_serializer(self, app: Flask) -> URLSafeTimedSerializer | None:
        key = (app.secret_key, tuple(app.config["SECRET_KEY_FALLBACKS"] or ()))
        serializer = self._serializers.get(key)
        if serializer is None:
            serializer = super().get_signing_serializer(app)
            self._serializers = {key: serializer}  # a changed key replaces the old one
        return serializer


def init_app(app: Flask) -> None:
    app.session_interface = CachedSerializerSessionInterface()
