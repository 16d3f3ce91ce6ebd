"""Sign-in pages, the role-based landing redirect and the health check."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Blueprint, jsonify, redirect, render_template, request, url_for
from sqlalchemy import text

from server.accounts.auth import current_user, login_session, logout_session, sign_in
from server.accounts.models import Role
from server.errors import ApiError
from server.extensions import db

bp = Blueprint("home", __name__)

LANDING = {
    Role.ENGINEER: "/app/",
    Role.OFFICE: "/office/",
    Role.SUPERVISOR: "/office/",
    Role.ADMIN: "/office/",
    Role.FINANCE: "/finance/",
}


def _safe_next(target: str | None) -> str | None:
    """Only follow a local path after sign-in, never another site."""
    if not target:
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return None
    return target


@bp.get("/")
def index():
    """Send a signed-in user to the place for their role."""
    user = current_user()
    if user is None:
        return redirect(url_for("home.login"))
    return redirect(LANDING.get(user.role, "/login"))


@bp.route("/login", methods=["GET", "POST"])
def login():
    """Sign in with username and password (office, supervisor, finance, admin)."""
    if request.method == "POST":
        try:
            user = sign_in(
                request.form.get("username", "").strip()[:64],
                request.form.get("password", "")[:200],
            )
        except ApiError as exc:
            return render_template("login.html", error=exc.message), exc.status, exc.headers
        login_session(user)
        if user.must_change_password:
            return redirect(url_for("account.password"))
        return redirect(_safe_next(request.args.get("next")) or LANDING.get(user.role, "/"))
    return render_template("login.html", error=None)


@bp.post("/logout")
def logout():
    """End the browser session, on the server too: a copied cookie no longer works."""
    logout_session()
    return redirect(url_for("home.login"))


@bp.get("/assets/<path:filename>")
def asset(filename: str):
    """Serve what every server-rendered page shares (its stylesheet), to anyone."""
    from pathlib import Path

    from flask import current_app, send_from_directory

    folder = Path(current_app.config["STATIC_DIR"]) / "web"
    return send_from_directory(folder, filename, max_age=300)


@bp.get("/healthz")
def healthz():
    """Report database connectivity and whether the schema is at the latest migration."""
    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory
    from flask import current_app

    body: dict = {"status": "ok"}
    try:
        with db.engine.connect() as conn:
            conn.execute(text("SELECT 1"))
            current = MigrationContext.configure(conn).get_current_heads()
        body["database"] = "ok"
    except Exception as exc:  # health checks report, never raise
        body.update(status="error", database=f"unreachable: {type(exc).__name__}")
        return jsonify(body), 503
    config = current_app.extensions["migrate"].migrate.get_config()
    heads = ScriptDirectory.from_config(config).get_heads()
    body["schema"] = {
        "current": sorted(current),
        "head": sorted(heads),
        "up_to_date": set(current) == set(heads),
    }
    if not body["schema"]["up_to_date"]:
        body["status"] = "error"
        return jsonify(body), 503
    return jsonify(body)
