"""Server-side message catalogues (繁體中文, 简体中文, English) and locale choice."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from urllib.parse import urlencode

from flask import Flask, g, request, session

LOCALES = ("zh-Hant", "zh-Hans", "en")
DEFAULT_LOCALE = "zh-Hans"
CATALOGUE_DIR = Path(__file__).parent / "catalogues"


@cache
def catalogue(locale: str) -> dict[str, str]:
    """Load one locale's messages: every catalogues/<locale>/*.json file, one per area."""
    messages: dict[str, str] = {}
    for path in sorted((CATALOGUE_DIR / locale).glob("*.json")):
        messages.update(json.loads(path.read_text(encoding="utf-8")))
    return messages


def negotiate(accept_language: str | None) -> str:
    """Pick a supported locale from an Accept-Language header."""
    if not accept_language:
        return DEFAULT_LOCALE
    for part in accept_language.split(","):
        tag = part.split(";")[0].strip().lower()
        if not tag:
            continue
        if tag.startswith("zh"):
            traditional = any(x in tag for x in ("hant", "-tw", "-hk", "-mo"))
            return "zh-Hant" if traditional else "zh-Hans"
        if tag.startswith("en"):
            return "en"
    return DEFAULT_LOCALE


def current_locale() -> str:
    """Return the locale of this request: explicit choice, then the user's, then the browser's."""
    if "locale" in g:
        return g.locale
    choice = request.args.get("lang") or session.get("locale")
    # A browser session's user, or a device's sign-in (which carries its user's locale).
    user = g.get("user") or g.get("device_sign_in")
    if choice not in LOCALES and user is not None and user.locale in LOCALES:
        choice = user.locale
    if choice not in LOCALES:
        choice = negotiate(request.headers.get("Accept-Language"))
    g.locale = choice
    return choice


def translate(key: str, /, locale: str | None = None, **params: object) -> str:
    """Translate a message key, falling back to English and then to the key itself."""
    loc = locale or current_locale()
    text = catalogue(loc).get(key) or catalogue("en").get(key) or key
    return text.format(**params) if params else text


def is_message_key(text: str) -> bool:
    """Tell whether a text is a catalogue key (an operation's error) rather than a sentence."""
    return text in catalogue("en")


def url_with_lang(locale: str) -> str:
    """Return this page's address with another language, keeping its other query parameters."""
    args = [(k, v) for k, v in request.args.items(multi=True) if k != "lang"]
    return f"{request.path}?{urlencode([*args, ('lang', locale)])}"


def init_app(app: Flask) -> None:
    """Expose the translator to templates and remember an explicit ?lang= choice."""

    @app.before_request
    def _remember_choice() -> None:
        lang = request.args.get("lang")
        if lang in LOCALES:
            session["locale"] = lang

    app.jinja_env.globals.update(
        _=translate, current_locale=current_locale, LOCALES=LOCALES, url_with_lang=url_with_lang
    )
