"""The engineers' app under /app/: its shell, and sw.js served at that scope."""

from pathlib import Path

from flask import Blueprint, abort, current_app, redirect, send_from_directory

bp = Blueprint("pwa", __name__, url_prefix="/app")


def _static_dir() -> Path:
    return Path(current_app.config["STATIC_DIR"])


@bp.get("")
def no_slash():
    return redirect("/app/")


@bp.get("/")
def shell():
    """Serve the app shell; it works offline once the service worker has cached it."""
    response = send_from_directory(_static_dir(), "index.html")
    response.cache_control.no_cache = True
    return response


@bp.get("/sw.js")
def service_worker():
    """Serve the service worker from /app/ so that its scope is the app and nothing else."""
    response = send_from_directory(_static_dir(), "sw.js", mimetype="text/javascript")
    response.cache_control.no_cache = True
    return response


@bp.get("/<path:filename>")
def asset(filename: str):
    """Serve a file of the app shell."""
    if filename.startswith(".") or "/." in filename:
        abort(404)
    # Python's mimetypes may not know the manifest's type; browsers want it exact.
    mimetype = "application/manifest+json" if filename.endswith(".webmanifest") else None
    response = send_from_directory(_static_dir(), filename, mimetype=mimetype)
    # The service worker caches the shell by version; the HTTP cache must not serve stale files.
    response.cache_control.no_cache = True
    return response
