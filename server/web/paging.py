"""Pagination for list endpoints: {"items": [...], "meta": {...}}."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Select

from server.extensions import count_rows, db


def paginate(query: Select, page: int, per_page: int) -> dict[str, Any]:
    """Run a select one page at a time and report the totals."""
    total = count_rows(query)
    items = db.session.scalars(query.limit(per_page).offset((page - 1) * per_page)).all()
    return {
        "items": items,
        "meta": {
            "page": page,
            "per_page": per_page,
            "total": total,
            "pages": (total + per_page - 1) // per_page,
        },
    }
