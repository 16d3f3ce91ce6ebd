"""Timestamps come back aware and in UTC, whatever zone they were written in."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy import select, text

from server.extensions import db
from server.register.models import ServiceRequest

SHANGHAI = timezone(timedelta(hours=8))


def test_a_time_written_in_another_zone_reads_back_as_the_same_moment_in_utc(app, make):
    written = datetime(2026, 12, 1, 16, 30, tzinfo=SHANGHAI)
    request = make.request(make.customer(), received_at=written)
    db.session.expire_all()
    read = db.session.scalar(
        select(ServiceRequest.received_at).where(ServiceRequest.id == request.id)
    )
    assert read == written
    assert read.tzinfo is UTC
    assert read.hour == 8


def test_postgresql_sessions_run_in_utc_so_timestamps_need_no_conversion(app, is_postgres):
    if not is_postgres:
        # SQLite keeps no zone: UTCDateTime stores UTC and labels what it reads (test above).
        pytest.skip("PostgreSQL sessions only")
    assert db.session.scalar(text("SHOW TimeZone")) == "UTC"
    # The driver hands back the very object UTCDateTime passes through unconverted.
    raw = db.session.scalar(text("SELECT TIMESTAMPTZ '2026-12-01 16:30:00+08'"))
    assert raw.tzinfo is UTC
    assert raw == datetime(2026, 12, 1, 8, 30, tzinfo=UTC)
