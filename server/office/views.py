"""Office pages of the day as a whole: the home page, my work (the queues), reports, and blobs."""

from __future__ import annotations

import re
from pathlib import Path

from flask import (
    Response,
    current_app,
    render_template,
    request,
    send_from_directory,
)
from marshmallow import ValidationError

from server.accounts.auth import current_user
from server.aftercare import (
    escalations as office_escalations,
)
from server.aftercare import (
    follow_ups as office_followups,
)
from server.aftercare import (
    returned_parts as office_parts,
)
from server.aftercare.models import (
    Complaint,
    ComplaintStatus,
)
from server.db_types import utcnow
from server.domain.aftercare import CALLBACK_DUE_HOURS
from server.domain.timezone import COMPANY_TZ
from server.errors import ApiError
from server.extensions import db
from server.office import reports as office_reports
from server.office import work as office_work
from server.office.forms import ReportQuery
from server.register import (
    board as office_board,
)
from server.visits.field_models import Blob, Conflict
from server.web.forms import FormState, localise_errors
from server.web.office_pages import (
    bp,
    get_or_404,
)
from sync.limits import BLOB_TYPES

SHA256_RE = re.compile(r"[0-9a-f]{64}")


# --- assets and blobs ---


@bp.get("/assets/<path:filename>")
def assets(filename: str):
    """Serve the office pages' stylesheet and scripts."""
    folder = Path(current_app.config["STATIC_DIR"]) / "office"
    return send_from_directory(folder, filename, max_age=3600)


@bp.get("/blobs/<sha256>")
def blob(sha256: str):
    """Serve a signature or photo by its hash, with its content type; never as a web page."""
    if SHA256_RE.fullmatch(sha256) is None:
        raise ApiError(404, "err.no_such.file")
    item = get_or_404(Blob, sha256, "file")
    # What phones may upload is shown; anything else (stored before, say) only as a download.
    inline = item.content_type in BLOB_TYPES
    response = Response(
        item.data, mimetype=item.content_type if inline else "application/octet-stream"
    )
    response.headers["X-Content-Type-Options"] = "nosniff"
    # A hostile SVG or HTML upload must not run script in the office's origin.
    response.headers["Content-Security-Policy"] = (
        "default-src 'none'; style-src 'unsafe-inline'; sandbox"
    )
    response.headers["Cache-Control"] = "private, max-age=31536000, immutable"
    response.set_etag(sha256)
    if not inline:
        response.headers["Content-Disposition"] = f'attachment; filename="{sha256[:12]}"'
    return response


# --- home ---


@bp.get("/")
def index():
    """The office home page: what needs attention now."""
    now = utcnow()
    rows = office_board.board_rows({}, now)
    counts = {
        "open": len(rows),
        "missed": sum(1 for r in rows if r.alarm == "missed"),
        "at_risk": sum(1 for r in rows if r.alarm == "at_risk"),
        "escalations": len(office_escalations.escalation_queue()),
        "complaints": db.session.scalar(
            db.select(db.func.count(Complaint.id)).where(
                Complaint.status != ComplaintStatus.RESOLVED
            )
        ),
        "parts": office_parts.count_returned_parts("pending"),
        "follow_ups": db.session.scalar(
            db.select(db.func.count()).select_from(
                office_followups.follow_ups_query("open").subquery()
            )
        ),
    }
    # Ops a restore from backup lost (sync rule R35): only the office can have them re-entered.
    restore_gaps = db.session.scalars(
        db.select(Conflict)
        .where(Conflict.entity == "device", Conflict.resolved_at.is_(None))
        .order_by(Conflict.created_at.desc())
        .limit(50)
    ).all()
    return render_template("office/index.html", counts=counts, restore_gaps=restore_gaps)


# --- my work: the day as queues ---


@bp.get("/work")
def my_work():
    """Every queue of the office's day with its count, oldest or most at risk first."""
    user = current_user()
    mine = request.args.get("mine") == "1"
    queues = office_work.my_work(utcnow(), owner_id=user.id if mine else None)
    return render_template(
        "office/work.html", queues=queues, mine=mine, total=sum(q.count for q in queues)
    )


# --- reports ---


def _report_periods() -> tuple[str, list, FormState, int]:
    """Read which periods the report covers; a bad query is redrawn with the field at fault."""
    fields = ("period", "weeks", "count", "from", "to")
    values = {k: v for k, v in request.args.items() if v and k in fields}
    try:
        args = ReportQuery().load(values)
        state, status = FormState("report", values), 200
    except ValidationError as exc:
        args = {"period": "week"}
        state, status = FormState("report", values, localise_errors(exc.messages)), 422
    kind = args["period"]
    now = utcnow()
    if args.get("start") or args.get("end"):
        last = args.get("end") or now.astimezone(COMPANY_TZ).date()
        first = args.get("start") or last
        starts = office_reports.periods_between(kind, first, last)
    else:
        count = args.get("count") or args.get("weeks") or 8
        starts = office_reports.last_periods(kind, now, count)
    return kind, starts, state, status


@bp.get("/reports")
def reports():
    """SLA, first-time fix, call backs and complaints by week, month or quarter, with bars."""
    kind, starts, state, status = _report_periods()
    report = office_reports.period_report(kind, starts, utcnow())
    return render_template(
        "office/reports.html",
        report=report,
        sla_weeks=report.sla,
        fix_weeks=report.fix,
        f=state,
        csv=FormState("csv"),
        weeks=len(starts),
        kinds=office_reports.PERIOD_KINDS,
        callback_hours=CALLBACK_DUE_HOURS,
    ), status


@bp.get("/reports/figures.csv")
def report_figures_csv():
    """The reports page's figures, one row per period, as CSV."""
    kind, starts, state, status = _report_periods()
    if status != 200:
        raise ApiError(422, "err.office.report_period", state.errors)
    body = office_reports.report_csv(office_reports.period_report(kind, starts, utcnow()))
    name = f"report-{kind}-{starts[0]}-{starts[-1]}.csv"
    return Response(
        body, mimetype="text/csv", headers={"Content-Disposition": f'attachment; filename="{name}"'}
    )
