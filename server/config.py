"""Configuration read from the environment, with safe development defaults."""

from __future__ import annotations

import os
from pathlib import Path

DEV_SECRET = "dev-only-not-secret"


def _bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


class Config:
    """Settings for a running server; every value can be set from the environment."""

    def __init__(self) -> None:
        self.ENV = os.environ.get("ONSITE_ENV", "development")
        self.SECRET_KEY = os.environ.get("ONSITE_SECRET_KEY", DEV_SECRET)
        # None means "SQLite in the instance folder", resolved in create_app.
        self.SQLALCHEMY_DATABASE_URI = os.environ.get("ONSITE_DATABASE_URL") or None
        # No ping before every checkout: server.db_pool pings only a connection left idle.
        self.SQLALCHEMY_ENGINE_OPTIONS: dict = {"pool_pre_ping": False}
        self.SESSION_COOKIE_HTTPONLY = True
        self.SESSION_COOKIE_SAMESITE = "Lax"
        # Secure cookies unless in development (which serves plain http on localhost).
        self.SESSION_COOKIE_SECURE = _bool("ONSITE_SECURE_COOKIES", not self.is_development)
        self.WTF_CSRF_TIME_LIMIT = None
        self.MAX_CONTENT_LENGTH = int(os.environ.get("ONSITE_MAX_BODY_BYTES", 4 * 1024 * 1024))
        # How many reverse proxies (deploy/: one nginx) stand in front and set X-Forwarded-*;
        # 0 trusts none, so a client cannot fake its address or scheme without a proxy.
        self.PROXY_COUNT = int(os.environ.get("ONSITE_PROXY_COUNT", 0))
        # Password (HTTP Basic) for /metrics; without it only a loopback caller not via a proxy.
        self.METRICS_TOKEN = os.environ.get("ONSITE_METRICS_TOKEN") or None
        self.REQUEST_LOG = _bool("ONSITE_REQUEST_LOG", True)
        self.DEVICE_TOKEN_DAYS = int(os.environ.get("ONSITE_DEVICE_TOKEN_DAYS", 90))
        self.COMPANY_TIMEZONE = "Asia/Shanghai"
        # Weak signal: compress JSON (pulls above all) for clients that accept it.
        self.COMPRESS_MIMETYPES = [
            "application/json",
            "text/html",
            "text/css",
            "text/javascript",
            "application/javascript",
        ]
        self.COMPRESS_ALGORITHM = ["gzip"]
        self.COMPRESS_MIN_SIZE = 512
        self.DEMO_DATA = _bool("ONSITE_DEMO_DATA", False)
        # flask-smorest / OpenAPI
        self.API_TITLE = "Onsite API"
        self.API_VERSION = "1"
        self.OPENAPI_VERSION = "3.0.3"
        self.OPENAPI_URL_PREFIX = "/api"
        self.OPENAPI_JSON_PATH = "openapi.json"
        self.API_SPEC_OPTIONS = {
            "components": {
                "securitySchemes": {
                    "deviceToken": {"type": "http", "scheme": "bearer"},
                    "session": {"type": "apiKey", "in": "cookie", "name": "session"},
                }
            }
        }

    @property
    def is_development(self) -> bool:
        return self.ENV in {"development", "test"}


class TestConfig(Config):
    """Settings for the test suite: database from ONSITE_TEST_DATABASE_URL or a temp SQLite."""

    def __init__(self, database_url: str | None = None, instance: Path | None = None) -> None:
        super().__init__()
        self.ENV = "test"
        self.TESTING = True
        self.SECRET_KEY = "test-secret"
        self.SQLALCHEMY_DATABASE_URI = database_url
        self.WTF_CSRF_ENABLED = True
        self.SESSION_COOKIE_SECURE = False
        # Hashing is deliberately slow; the suite makes hundreds of users.
        self.PASSWORD_HASH_METHOD = "pbkdf2:sha256:1000"
