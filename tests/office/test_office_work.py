"""The office's day as queues (S6, S11, S12, S16, S17, S22, S29-S33), fed by the sync endpoint.

Field data arrives as a phone sends it (`POST /api/sync/push`); the office acts through its
pages. Each test checks what a queue is for: the right lines, in the right order, with the
right count, and that dealing with a line takes it off.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from freezegun import freeze_time

from server.extensions import db
from server.register.models import ServiceRequest
from server.review import views as review_views
from server.review.operations import review_visit
from server.visits.models import Visit
from server.web import office_pages
from tests.api.sync_http import HttpPhone, transition

T0 = datetime(2026, 11, 20, 1, 0, tzinfo=UTC)  # 09:00 in Shanghai


def _section(page: str, name: str) -> str:
    match = re.search(rf'<section id="queue-{name}" data-count="(\d+)">(.*?)</section>', page, re.S)
    assert match, f"no queue {name}"
    return match.group(0)


def _count(page: str, name: str) -> int:
    return int(re.search(r'data-count="(\d+)"', _section(page, name)).group(1))


def _refs(html: str) -> list[str]:
    return re.findall(r'data-ref="([^"]+)"', html)


def _late_refs(html: str) -> list[str]:
    return re.findall(r'data-ref="([^"]+)" class="alert"', html)


@pytest.fixture
def office(make, login):
    clerk = make.user("office", "clerk-wang")
    return login(clerk)


@pytest.fixture
def field(make, signed_device):
    """One engineer and their phone; visit(...) schedules one for them on a new request."""
    engineer = make.user("engineer")
    phone = HttpPhone(signed_device(engineer))

    def visit(**kw) -> Visit:
        request = make.request(**kw.pop("request", {}))
        return make.visit(request, engineer=engineer, **kw)

    return {"engineer": engineer, "phone": phone, "visit": visit}


def _finish(phone: HttpPhone, visit_id: int, status: str = "completed", **fields) -> None:
    phone.op(
        "visit.transition",
        visit_id,
        transition("arrived", permission_granted=fields.pop("permission_granted", True)),
    )
    phone.op("visit.transition", visit_id, transition(status, **fields))
    body = phone.push()
    assert [r["status"] for r in body["results"]] == ["applied", "applied"], body


# --- S16, S17, S22 in the completeness check ---


def test_late_arrival_silent_permission_and_unexplained_not_fixed_are_gaps(field, office):
    """What an older phone or server let through shows in review (S16, S17, S22)."""
    now = datetime.now(UTC)
    late = field["visit"](
        window_start=now - timedelta(hours=3), window_end=now - timedelta(hours=2)
    )
    # Today's sync server refuses these answers missing (sync rule on visit.transition)...
    phone = field["phone"]
    phone.op("visit.transition", late.id, transition("arrived", permission_granted=None))
    phone.op("visit.transition", late.id, transition("in_progress", permission_granted=None))
    phone.op("visit.transition", late.id, transition("not_fixed", explanation=None))
    results = phone.push()["results"]
    assert {r["status"] for r in results} == {"rejected"}
    refused = [r["reason"].split(":")[0] for r in results]
    assert refused == ["payload.late_reason", "payload.permission_granted", "payload.explanation"]
    # ...so a visit lacking them comes only from before that check: rows an older server kept,
    # written here as it wrote them.
    visit = db.session.get(Visit, late.id)
    visit.status, visit.arrived_at, visit.finished_at = "not_fixed", now - timedelta(hours=1), now
    visit.permission_granted = visit.late_reason = visit.explanation = None
    db.session.commit()
    codes = [g.code for g in review_visit(db.session.get(Visit, late.id)).gaps]
    assert {"late_reason", "permission", "explanation"} <= set(codes)
    page = office.get(f"/office/visits/{late.id}").get_data(as_text=True)
    for code in ("late_reason", "permission", "explanation"):
        assert f'data-gap="{code}"' in page

    # The same visit answered properly raises none of the three.
    answered = field["visit"](
        window_start=now - timedelta(hours=3), window_end=now - timedelta(hours=2)
    )
    phone = field["phone"]
    phone.op(
        "visit.transition",
        answered.id,
        transition("arrived", permission_granted=True, late_reason="堵车,已电话致歉"),
    )
    phone.op(
        "visit.transition",
        answered.id,
        transition("not_fixed", explanation="主板损坏,需返厂,已向客户说明并致歉"),
    )
    phone.push()
    db.session.expire_all()
    codes = [g.code for g in review_visit(db.session.get(Visit, answered.id)).gaps]
    assert not {"late_reason", "permission", "explanation"} & set(codes)


def test_an_arrival_within_the_window_needs_no_reason(field):
    now = datetime.now(UTC)
    visit = field["visit"](
        window_start=now - timedelta(hours=1), window_end=now + timedelta(hours=1)
    )
    _finish(field["phone"], visit.id, "completed", outcome_summary="ok")
    db.session.expire_all()
    assert "late_reason" not in [g.code for g in review_visit(db.session.get(Visit, visit.id)).gaps]


# --- the review queue: paged, oldest first, taken off when reviewed ---


def test_review_queue_pages_oldest_first_and_reviewing_takes_a_visit_off(
    field, office, monkeypatch
):
    monkeypatch.setattr(review_views, "REVIEW_PAGE_SIZE", 2)
    visits = []
    with freeze_time(T0) as clock:
        for _ in range(3):
            visit = field["visit"]()
            _finish(field["phone"], visit.id, outcome_summary="ok")
            visits.append(visit.id)
            clock.tick(timedelta(minutes=10))
    first = office.get("/office/visits").get_data(as_text=True)
    second = office.get("/office/visits?page=2").get_data(as_text=True)
    assert re.findall(r'data-visit="(\d+)"', first) == [str(v) for v in visits[:2]]
    assert re.findall(r'data-visit="(\d+)"', second) == [str(visits[2])]
    assert 'data-total="3"' in first
    assert office.get("/office/visits?page=0").status_code == 422

    # No sign-off or feedback synced: accepting it as it is needs a reason.
    refused = office.post(f"/office/visits/{visits[0]}/reviewed", data={"note": ""})
    assert refused.status_code == 422
    assert 'id="reviewed-note-error"' in refused.get_data(as_text=True)
    done = office.post(f"/office/visits/{visits[0]}/reviewed", data={"note": "客户拒签,已电话确认"})
    assert done.status_code == 302
    again = office.post(f"/office/visits/{visits[0]}/reviewed", data={"note": "x"})
    assert again.status_code == 409
    after = office.get("/office/visits").get_data(as_text=True)
    assert re.findall(r'data-visit="(\d+)"', after) == [str(v) for v in visits[1:]]
    work = office.get("/office/work").get_data(as_text=True)
    assert _count(work, "review") == 2


# --- S12: the call-back queue ---


def test_call_back_queue_shows_overdue_first_and_a_reached_call_takes_it_off(field, office, login):
    with freeze_time(T0) as clock:
        early = field["visit"]()
        _finish(field["phone"], early.id, outcome_summary="ok")
        clock.tick(timedelta(hours=20))
        late = field["visit"]()
        _finish(field["phone"], late.id, outcome_summary="ok")
    early_ref = db.session.get(ServiceRequest, early.request_id).number + "/1"
    late_ref = db.session.get(ServiceRequest, late.request_id).number + "/1"

    with freeze_time(T0 + timedelta(hours=25)):  # the server clock, 25 h after the first
        office = login(office.user)
        page = office.get("/office/work").get_data(as_text=True)
        queue = _section(page, "callback")
        assert _refs(queue) == [early_ref, late_ref]
        assert _late_refs(queue) == [early_ref]  # 25 h after finishing: past the 24 h promise

        # A call that did not reach the customer leaves the visit waiting.
        office.post(f"/office/requests/{early.request_id}/callbacks", data={"reached": "no"})
        assert _refs(_section(office.get("/office/work").get_data(as_text=True), "callback")) == [
            early_ref,
            late_ref,
        ]
        reached = office.post(
            f"/office/requests/{early.request_id}/callbacks",
            data={"reached": "yes", "satisfied": "yes", "notes": "运行正常"},
        )
        assert reached.status_code == 302
        page = office.get("/office/work").get_data(as_text=True)
    assert _refs(_section(page, "callback")) == [late_ref]
    assert _count(page, "callback") == 1


# --- S6: a fax asks for the call to the customer's technical staff ---


def test_a_fax_request_waits_for_the_call_to_technical_staff(make, office):
    fax = make.request(channel="fax", received_at=datetime.now(UTC) - timedelta(minutes=5))
    phoned = make.request(channel="hotline")
    page = office.get("/office/work").get_data(as_text=True)
    assert _refs(_section(page, "fax")) == [fax.number]

    detail = office.get(f"/office/requests/{fax.id}").get_data(as_text=True)
    assert 'id="fax-call"' in detail
    assert 'id="fax-call"' not in office.get(f"/office/requests/{phoned.id}").get_data(as_text=True)

    missing = office.post(f"/office/requests/{fax.id}/steps/fax-call", data={})
    assert missing.status_code == 422
    assert 'id="fax-call-note-error"' in missing.get_data(as_text=True)
    done = office.post(
        f"/office/requests/{fax.id}/steps/fax-call", data={"note": "已致电信息科李工,约定下午到场"}
    )
    assert done.status_code == 302
    db.session.expire_all()
    assert db.session.get(ServiceRequest, fax.id).fax_call_note.startswith("已致电")
    assert _count(office.get("/office/work").get_data(as_text=True), "fax") == 0
    assert (
        office.post(f"/office/requests/{fax.id}/steps/fax-call", data={"note": "x"}).status_code
        == 409
    )
    assert (
        office.post(f"/office/requests/{phoned.id}/steps/fax-call", data={"note": "x"}).status_code
        == 409
    )


# --- S11: late or at risk, customer not told; re-triage from the page ---


def test_late_requests_wait_until_the_customer_is_told_and_can_be_retriaged(make, office):
    now = datetime.now(UTC)
    missed = make.request(received_at=now - timedelta(hours=3))
    at_risk = make.request(received_at=now - timedelta(minutes=100))
    make.request(received_at=now - timedelta(minutes=5))  # plenty of time: not listed
    # Answered by phone in time; 20 minutes left to be on site (S5b): at risk, not missed.
    office.post(f"/office/requests/{at_risk.id}/steps/phone-response", data={})
    page = office.get("/office/work").get_data(as_text=True)
    queue = _section(page, "sla_untold")
    assert _refs(queue) == [missed.number, at_risk.number]
    assert _late_refs(queue) == [missed.number]

    told = office.post(
        f"/office/requests/{missed.id}/steps/delay-notice", data={"note": "工程师堵车,约 16:00 到"}
    )
    assert told.status_code == 302
    assert _refs(_section(office.get("/office/work").get_data(as_text=True), "sla_untold")) == [
        at_risk.number
    ]

    bad = office.post(f"/office/requests/{at_risk.id}/triage", data={"severity": "huge"})
    assert bad.status_code == 422
    assert 'id="triage-severity-error"' in bad.get_data(as_text=True)
    ok = office.post(
        f"/office/requests/{at_risk.id}/triage",
        data={"severity": "critical", "urgency": "high", "needs_visit": "on"},
    )
    assert ok.status_code == 302
    db.session.expire_all()
    row = db.session.get(ServiceRequest, at_risk.id)
    assert (row.severity, row.urgency, row.needs_visit) == ("critical", "high", True)


# --- who sees what ---


def test_a_clerk_filters_to_their_own_work(make, login, office):
    other = make.user("office", "clerk-li")
    mine = make.request(by=office.user, received_at=datetime.now(UTC) - timedelta(minutes=20))
    theirs = make.request(by=other, received_at=datetime.now(UTC) - timedelta(minutes=30))
    everyone = office.get("/office/work").get_data(as_text=True)
    assert _refs(_section(everyone, "triage")) == [theirs.number, mine.number]
    only_mine = office.get("/office/work?mine=1").get_data(as_text=True)
    assert _refs(_section(only_mine, "triage")) == [mine.number]
    supervisor = login(make.user("supervisor"))
    assert _count(supervisor.get("/office/work").get_data(as_text=True), "triage") == 2
    # Scheduling a visit deals with it: it leaves the triage queue.
    make.visit(mine)
    assert _count(office.get("/office/work?mine=1").get_data(as_text=True), "triage") == 0


# --- paging of complaints and follow-ups ---


def test_complaints_and_follow_ups_are_paged(make, office, monkeypatch):
    monkeypatch.setattr(office_pages, "PAGE_SIZE", 2)
    customer = make.customer()
    for n in range(3):
        office.post(
            "/office/complaints",
            data={"customer_id": customer.id, "channel": "hotline", "summary": f"投诉 {n}"},
        )
        office.post(
            "/office/follow-ups",
            data={
                "customer_id": customer.id,
                "kind": "follow_up",
                "due_on": f"2026-12-0{n + 1}",
                "reason": f"跟进 {n}",
            },
        )
    for url, marker in (("/office/complaints", "投诉"), ("/office/follow-ups", "跟进")):
        first = office.get(url).get_data(as_text=True)
        second = office.get(url + "?page=2").get_data(as_text=True)
        assert 'data-total="3"' in first
        assert len(re.findall(rf"{marker} \d", first)) == 2
        assert len(re.findall(rf"{marker} \d", second)) == 1


# --- customer details and the follow-up form, found by search ---


def test_customer_details_are_found_by_search_and_edited_on_a_page(make, office):
    target = make.customer(name="西安电子科技公司", phone="029-88001234")
    make.customer(name="宝鸡机床厂")
    found = office.get("/office/customers?q=88001234").get_data(as_text=True)
    assert re.findall(r'data-customer="(\d+)"', found) == [str(target.id)]

    bad = office.post(
        f"/office/customers/{target.id}",
        data={"name": "西安电子科技公司", "email": "not-an-address"},
    )
    assert bad.status_code == 422
    assert 'id="customer-email-error"' in bad.get_data(as_text=True)
    saved = office.post(
        f"/office/customers/{target.id}",
        data={"name": "西安电子科技有限公司", "phone": "029-88009999", "email": "it@xd.cn"},
    )
    assert saved.status_code == 302
    db.session.expire_all()
    row = db.session.get(type(target), target.id)
    assert (row.name, row.phone, row.email, row.contact_person) == (
        "西安电子科技有限公司",
        "029-88009999",
        "it@xd.cn",
        None,  # left blank on the form: cleared, as the form showed
    )


def test_the_follow_up_form_picks_customer_request_and_equipment_by_search(make, office):
    customer = make.customer(name="咸阳纺织集团")
    equipment = make.equipment(customer, model="S5735-L24")
    request = make.request(customer, equipment_id=equipment.id)
    other = make.request()  # another customer's request: not offered
    found = office.get("/office/follow-ups?q=咸阳").get_data(as_text=True)
    assert re.findall(r'data-customer="(\d+)"', found) == [str(customer.id)]

    form = office.get(f"/office/follow-ups?customer_id={customer.id}").get_data(as_text=True)
    assert f'<option value="{request.id}">' in form
    assert f'<option value="{other.id}">' not in form
    assert "S5735-L24" in form
    planned = office.post(
        "/office/follow-ups",
        data={
            "customer_id": customer.id,
            "request_id": request.id,
            "equipment_id": equipment.id,
            "kind": "return_visit",
            "due_on": "2027-01-15",
            "interval_months": "6",
            "reason": "半年定期回访",
        },
    )
    assert planned.status_code == 302
    listed = office.get("/office/follow-ups").get_data(as_text=True)
    assert "半年定期回访" in listed

    # The complaint form finds its customer the same way, with no list of every customer.
    found = office.get("/office/complaints?q=咸阳").get_data(as_text=True)
    assert re.findall(r'data-customer="(\d+)"', found) == [str(customer.id)]
    form = office.get(f"/office/complaints?customer_id={customer.id}").get_data(as_text=True)
    assert f'<option value="{request.id}">' in form
    assert f'<option value="{other.id}">' not in form


# --- reports for any period ---


def _rows(page: str, table: str) -> list[dict[str, str]]:
    body = re.search(rf'<table id="{table}">(.*?)</table>', page, re.S).group(1)
    return [
        dict(re.findall(r'data-([a-z-]+)="([^"]*)"', row))
        for row in re.findall(r"<tr (data-period[^>]*)>", body)
    ]


def test_reports_by_month_and_quarter_count_call_backs_and_complaints(field, office, login, make):
    make_supervisor = make.user("supervisor")
    # A clerk signs in on each day acted on: a session is not valid before it was made.
    with freeze_time("2026-09-10T02:00:00Z") as clock:
        september = field["visit"]()
        customer_id = september.request.customer_id
        _finish(field["phone"], september.id, outcome_summary="ok")
        clock.tick(timedelta(hours=2))
        clerk = login(office.user)
        clerk.post(f"/office/requests/{september.request_id}/callbacks", data={"reached": "yes"})
        clock.move_to("2026-10-05T02:00:00Z")
        october = field["visit"]()
        _finish(field["phone"], october.id, outcome_summary="ok")
        clock.tick(timedelta(hours=30))  # past the 24-hour promise
        clerk = login(office.user)
        clerk.post(f"/office/requests/{october.request_id}/callbacks", data={"reached": "yes"})
        clock.move_to("2026-10-07T02:00:00Z")
        clerk = login(office.user)
        received = clerk.post(
            "/office/complaints",
            data={"customer_id": customer_id, "channel": "hotline", "summary": "等太久"},
        )
        supervisor = login(make_supervisor)
        resolved = supervisor.post(
            received.headers["Location"] + "/resolve", data={"note": "已道歉并说明"}
        )
        assert resolved.status_code == 302, resolved.get_data(as_text=True)[-1500:]
        clock.move_to("2026-11-02T02:00:00Z")
        clerk = login(office.user)
        clerk.post(
            "/office/complaints",
            data={"customer_id": customer_id, "channel": "email", "summary": "发票有误"},
        )
    with freeze_time("2026-11-20T02:00:00Z"):
        office = login(office.user)
        months = office.get("/office/reports?period=month&from=2026-09-01&to=2026-11-30").get_data(
            as_text=True
        )
        assert [
            (r["period"], r["on-time"], r["late"]) for r in _rows(months, "callback-table")
        ] == [
            ("2026-09-01", "1", "0"),
            ("2026-10-01", "0", "1"),
            ("2026-11-01", "0", "0"),
        ]
        assert [
            (r["period"], r["received"], r["resolved"]) for r in _rows(months, "complaint-table")
        ] == [("2026-09-01", "0", "0"), ("2026-10-01", "1", "1"), ("2026-11-01", "1", "0")]
        assert re.findall(r'<tr data-week="([^"]+)"', months)[:3] == [
            "2026-09-01",
            "2026-10-01",
            "2026-11-01",
        ]

        quarters = office.get(
            "/office/reports?period=quarter&from=2026-08-15&to=2026-11-30"
        ).get_data(as_text=True)
        assert [
            (r["period"], r["on-time"], r["late"]) for r in _rows(quarters, "callback-table")
        ] == [
            ("2026-07-01", "1", "0"),
            ("2026-10-01", "0", "1"),
        ]

        figures = office.get(
            "/office/reports/figures.csv?period=quarter&from=2026-08-15&to=2026-11-30"
        )
        assert figures.mimetype == "text/csv"
        lines = figures.get_data(as_text=True).lstrip("\ufeff").splitlines()
        header = lines[0].split(",")
        q4 = dict(zip(header, lines[2].split(","), strict=True))
        assert (q4["period"], q4["callbacks_late"], q4["complaints_received"]) == (
            "2026-10-01",
            "1",
            "2",
        )
        assert office.get("/office/reports?period=year").status_code == 422
        assert office.get("/office/reports?from=2026-11-30&to=2026-11-01").status_code == 422


# --- escalations: the open queue leaves out what the supervisor resolved ---


def test_a_resolved_escalation_leaves_the_queue_and_shows_as_resolved(field, make, login, office):
    visit = field["visit"]()
    _finish(field["phone"], visit.id, "not_fixed", explanation="主板损坏,需返厂", escalate=True)
    ref = db.session.get(ServiceRequest, visit.request_id).number
    page = office.get("/office/work").get_data(as_text=True)
    assert _refs(_section(page, "escalations")) == [ref]
    assert _late_refs(_section(page, "escalations")) == [ref]  # waiting for the supervisor

    supervisor = login(make.user("supervisor"))
    assert supervisor.post(f"/office/escalations/visit/{visit.id}/take").status_code == 302
    taken = office.get("/office/work").get_data(as_text=True)
    assert _refs(_section(taken, "escalations")) == [ref] and not _late_refs(
        _section(taken, "escalations")
    )
    assert (
        supervisor.post(
            f"/office/escalations/visit/{visit.id}/resolve", data={"note": "返厂更换主板"}
        ).status_code
        == 302
    )
    assert _count(office.get("/office/work").get_data(as_text=True), "escalations") == 0
    listed = office.get("/office/escalations").get_data(as_text=True)
    assert f'data-escalation="visit:{visit.id}" data-state="resolved"' in listed
    # The escalated request behind the visit is not a second line, resolved or not.
    assert "request:" not in listed
    assert (
        supervisor.post(
            f"/office/escalations/visit/{visit.id}/resolve", data={"note": "x"}
        ).status_code
        == 409
    )
    assert (
        supervisor.post(f"/office/escalations/request/{visit.request_id}/take").status_code == 404
    )


# --- conflicts and refused operations from phones ---


def test_a_sync_conflict_waits_in_the_queue_until_the_office_resolves_it(field, office):
    from tests.api.sync_http import payment

    phone = field["phone"]
    visit = field["visit"]()
    receipt = phone.receipt_no()
    op = phone.op("payment.record", visit.id, payment(39100, receipt))
    phone.push()
    phone.op("payment.record", visit.id, payment(99900, receipt), record_id=op["record_id"])
    assert phone.push()["results"][0]["status"] == "conflict"

    page = office.get("/office/work").get_data(as_text=True)
    queue = _section(page, "sync")
    assert _count(page, "sync") == 1  # the conflict, and not its operation a second time
    assert f'href="/office/visits/{visit.id}#conflicts"' in queue

    conflict_id = re.search(
        r'action="/office/conflicts/(\d+)/resolve"',
        office.get(f"/office/visits/{visit.id}").get_data(as_text=True),
    ).group(1)
    done = office.post(
        f"/office/conflicts/{conflict_id}/resolve", data={"note": "收据上是 391 元,保留第一笔"}
    )
    assert done.status_code == 302
    assert _count(office.get("/office/work").get_data(as_text=True), "sync") == 0
