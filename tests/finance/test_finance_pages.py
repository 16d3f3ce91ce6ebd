"""The finance pages: rendered in every language, forms that show errors beside the field."""

from __future__ import annotations

import contextlib
import csv
import io
import re
from datetime import date

import pytest
from freezegun import freeze_time

from server.extensions import db
from server.finance import handover as finance_handover
from server.finance.models import DayReconciliation, FinanceAudit, Handover
from tests.finance.conftest import shanghai

DAY = date(2026, 11, 20)


@pytest.fixture
def scene(make, field):
    """An engineer's day: a fee, priced parts, a split payment, a void and a missing receipt."""
    eng = make.user("engineer", username="zhang")
    boss = make.user("finance", username="liu")
    phone = field.device(eng)
    field.fee(date(2026, 1, 1), 30000)
    field.price("FAN", date(2026, 1, 1), 4550)
    visit = field.visit(eng, shanghai(2026, 11, 20, 10))
    field.part(visit, "FAN", 2, 4800)  # the phone's price differs from the list
    cash = field.pay(visit, 20000, "cash", device=phone, seq=1)
    wechat = field.pay(visit, 19100, "wechat", device=phone, seq=2)
    bad = field.pay(visit, 99900, "cash", device=phone, seq=4)  # 3 is missing
    field.void(bad, "<b>wrong</b> amount")
    field.sync(phone, shanghai(2026, 11, 21, 8))  # the next morning: nothing left on the phone
    return {
        "eng": eng,
        "boss": boss,
        "phone": phone,
        "visit": visit,
        "cash": cash,
        "wechat": wechat,
    }


# Each page, and what it shows of the scene in every language (the promises and statements
# pages have nothing of it: their content is tested in test_finance_promises/_statements).
PAGES = {
    "/finance/": ["¥391.00", "R-{prefix}-000003", "zhang的手机"],
    "/finance/reconciliation?from=2026-11-14&to=2026-11-20": [
        '<tr data-engineer="{eng}" data-day="2026-11-20"',
        "¥391.00",
    ],
    "/finance/reconciliation/{eng}/2026-11-20": [
        'data-figure="owed">¥391.00<',
        'data-receipt="R-{prefix}-000001"',
    ],
    "/finance/handovers": ["¥391.00"],
    "/finance/handovers/new?engineer_id={eng}": ["R-{prefix}-000001", "R-{prefix}-000002"],
    "/finance/receipts": ['data-missing-count="1"', "R-{prefix}-000003"],
    "/finance/prices": ["FAN", "¥45.50", "¥300.00"],
    "/finance/audit": ["part_price:", "fee:"],
    "/finance/promises": [],
    "/finance/promises?state=settled": [],
    "/finance/statements": [],
}


@pytest.mark.parametrize("path", PAGES)
def test_every_page_renders_in_every_language(login, scene, path):
    session = login(scene["boss"])
    url = path.format(eng=scene["eng"].id)
    shows = [
        s.format(eng=scene["eng"].id, prefix=scene["phone"].receipt_prefix) for s in PAGES[path]
    ]
    for locale, word in [("zh-Hans", "对账"), ("zh-Hant", "對賬"), ("en", "Reconciliation")]:
        response = session.get(url + ("&" if "?" in url else "?") + f"lang={locale}")
        assert response.status_code == 200, response.get_data(as_text=True)[:500]
        page = response.get_data(as_text=True)
        assert word in page
        assert "fin." not in re.sub(r'(class|id|href|src|data-[a-z-]+)="[^"]*"', "", page), (
            "an untranslated key"
        )
        for shown in shows:
            assert shown in page, (locale, shown)
        # The voided receipt is listed only where voids are shown, never as money held.
        if path.startswith("/finance/handovers/new"):
            assert f"R-{scene['phone'].receipt_prefix}-000004" not in page


def test_day_page_shows_figures_flags_voids_and_escapes_customer_text(login, scene):
    session = login(scene["boss"])
    page = session.get(f"/finance/reconciliation/{scene['eng'].id}/2026-11-20?lang=en").get_data(
        as_text=True
    )
    # owed = 2 * 45.50 (list) + 300 fee = 391.00; collected = 200 + 191 = 391.00
    assert 'data-figure="owed">¥391.00<' in page
    assert 'data-figure="collected">¥391.00<' in page
    assert 'data-flag="part_price_differs"' in page
    assert "the phone priced it at ¥48.00, the price list of the day says ¥45.50" in page
    assert "&lt;b&gt;wrong&lt;/b&gt; amount" in page and "<b>wrong</b>" not in page
    assert re.search(r'class="voided" data-receipt="R-\w{4}-000004"', page)


def test_receipts_page_flags_the_missing_number(login, scene):
    page = login(scene["boss"]).get("/finance/receipts?lang=en").get_data(as_text=True)
    prefix = scene["phone"].receipt_prefix
    assert f"Missing receipts: R-{prefix}-000003" in page


def test_reconciling_from_the_page_locks_the_day_and_records_who(login, scene):
    session = login(scene["boss"])
    url = f"/finance/reconciliation/{scene['eng'].id}/2026-11-20"
    response = session.post(
        url + "?lang=en", data={"status": "reconciled", "note": "", "csrf_token": session.csrf}
    )
    # Nothing handed over yet: the figures differ, so a note is required, shown beside the field
    # in the page's language.
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert re.search(r'id="err-note"[^>]*>Required when the figures differ\.<', page)
    assert db.session.scalar(db.select(DayReconciliation)) is None
    response = session.post(
        url, data={"status": "reconciled", "note": "cash tomorrow", "csrf_token": session.csrf}
    )
    assert response.status_code == 302
    record = db.session.scalar(db.select(DayReconciliation))
    assert record.status == "reconciled" and record.figures["owed_fen"] == 39100
    audit = db.session.scalar(db.select(FinanceAudit).where(FinanceAudit.action.like("day.%")))
    assert (audit.action, audit.user_id) == ("day.reconciled", scene["boss"].id)
    page = session.get(url + "?lang=en").get_data(as_text=True)
    assert 'id="locked-note"' in page and 'id="status-form"' not in page


def test_the_page_form_needs_its_csrf_token(login, scene):
    session = login(scene["boss"])
    response = session.client.post(
        f"/finance/reconciliation/{scene['eng'].id}/2026-11-20", data={"status": "disputed"}
    )
    assert response.status_code == 400
    assert db.session.scalar(db.select(DayReconciliation)) is None


def test_recording_a_handover_from_the_page_shows_the_difference_at_once(login, scene):
    session = login(scene["boss"])
    response = session.post(
        "/finance/handovers",
        data={
            "engineer_id": scene["eng"].id,
            "payment_ids": [scene["cash"].id, scene["wechat"].id],
            "amount_cash": "199.9",
            "amount_wechat": "191.00",
            "csrf_token": session.csrf,
        },
    )
    assert response.status_code == 302, response.get_data(as_text=True)
    page = session.get(response.headers["Location"] + "?lang=en").get_data(as_text=True)
    assert 'id="handover-difference">-¥0.10<' in page
    handover = db.session.scalar(db.select(Handover))
    assert {line.method: line.amount_fen for line in handover.lines} == {
        "cash": 19990,
        "wechat": 19100,
    }


def test_a_bad_amount_is_shown_beside_its_field_and_nothing_is_saved(login, scene):
    session = login(scene["boss"])
    response = session.post(
        "/finance/handovers?lang=en",
        data={
            "engineer_id": scene["eng"].id,
            "payment_ids": [scene["cash"].id],
            "amount_cash": "12.345",
            "csrf_token": session.csrf,
        },
    )
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert 'id="err-amount_cash"' in page and "Not a valid amount in yuan" in page
    assert 'value="12.345"' in page
    assert db.session.scalar(db.select(Handover)) is None


def test_a_handover_without_receipts_is_refused_beside_the_receipts(login, scene):
    session = login(scene["boss"])
    response = session.post(
        "/finance/handovers",
        data={"engineer_id": scene["eng"].id, "amount_cash": "10", "csrf_token": session.csrf},
    )
    assert response.status_code == 422
    assert 'id="err-payment_ids"' in response.get_data(as_text=True)


def test_voiding_a_handover_needs_a_reason_and_shows_it(login, scene):
    handover = finance_handover.record_handover(
        {
            "engineer_id": scene["eng"].id,
            "amounts": {"cash": 20000},
            "payment_ids": [scene["cash"].id],
        },
        scene["boss"],
    )
    db.session.commit()
    session = login(scene["boss"])
    url = f"/finance/handovers/{handover.id}/void"
    response = session.post(url, data={"reason": " ", "csrf_token": session.csrf})
    assert response.status_code == 422 and 'id="err-reason"' in response.get_data(as_text=True)
    response = session.post(url, data={"reason": "wrong engineer", "csrf_token": session.csrf})
    assert response.status_code == 302
    page = session.get(f"/finance/handovers/{handover.id}?lang=en").get_data(as_text=True)
    assert "wrong engineer" in page and "voided" in page


def test_prices_are_added_from_the_page_with_errors_beside_the_fields(login, scene):
    session = login(scene["boss"])
    response = session.post(
        "/finance/prices/part",
        data={"part_code": "", "effective_from": "2026-12-01", "unit_cost_fen": "abc",
              "csrf_token": session.csrf},
    )  # fmt: skip
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert 'id="err-part-part_code"' in page and 'id="err-part-unit_cost_fen"' in page
    response = session.post(
        "/finance/prices/part",
        data={"part_code": "FAN", "effective_from": "2026-01-01", "unit_cost_fen": "46",
              "csrf_token": session.csrf},
    )  # fmt: skip
    assert response.status_code == 409  # an entry from that day exists: the operation's answer
    assert 'id="err-part-effective_from"' in response.get_data(as_text=True)
    response = session.post(
        "/finance/prices/fee",
        data={"effective_from": "2026-12-01", "onsite_fee_fen": "350", "csrf_token": session.csrf},
    )
    assert response.status_code == 302
    # The schedule now lists the new fee (typed in yuan) beside the old; FAN kept one price.
    page = session.get(response.headers["Location"] + "?lang=en").get_data(as_text=True)
    fees = re.findall(r"<tr>\s*<td>(2026-\d\d-\d\d)</td>\s*<td[^>]*>(¥[\d,.]+)<", page)
    assert fees[:2] == [("2026-12-01", "¥350.00"), ("2026-01-01", "¥300.00")], fees
    assert page.count("¥45.50") == 1 and "¥0.46" not in page


def test_period_errors_are_shown_beside_the_field(login, scene):
    page = (
        login(scene["boss"])
        .get("/finance/reconciliation?from=2026-11-20&to=2026-11-01&lang=en")
        .get_data(as_text=True)
    )
    assert 'id="err-to"' in page


def test_reconciliation_page_has_a_chart_of_collected_and_handed_over(login, scene):
    page = (
        login(scene["boss"])
        .get("/finance/reconciliation?from=2026-11-19&to=2026-11-20&lang=en")
        .get_data(as_text=True)
    )
    svg = page[page.index("<svg") : page.index("</svg>")]
    assert svg.count('class="collected"') == 2 and svg.count('class="handed"') == 2
    assert "2026-11-20 Collected ¥391.00" in svg


def _rows(response) -> list[dict[str, str]]:
    text = response.get_data(as_text=True)
    assert text.startswith("\ufeff")
    return list(csv.DictReader(io.StringIO(text[1:])))


def test_csv_exports_carry_exact_fen_and_keep_formulas_as_text(login, scene, field):
    field.pay(scene["visit"], 100, "card", device=scene["phone"], seq=5, payer="=HYPERLINK(1)")
    session = login(scene["boss"])
    q = "?from=2026-11-20&to=2026-11-20"
    payments = _rows(session.get("/finance/export/payments.csv" + q))
    got = [(r["receipt_no"][-6:], r["amount_fen"], r["voided"], r["counted_fen"]) for r in payments]
    assert got == [
        ("000001", "20000", "no", "20000"),
        ("000002", "19100", "no", "19100"),
        ("000004", "99900", "yes", "0"),
        ("000005", "100", "no", "100"),
    ]
    assert payments[3]["payer"] == "'=HYPERLINK(1)"
    recon = _rows(session.get("/finance/export/reconciliation.csv" + q))
    assert [(r["owed_fen"], r["collected_fen"], r["collected_minus_owed_fen"]) for r in recon] == [
        ("39100", "39200", "100")
    ]
    finance_handover.record_handover(
        {"engineer_id": scene["eng"].id, "amounts": {"cash": 19000},
         "payment_ids": [scene["cash"].id]},
        scene["boss"],
    )  # fmt: skip
    db.session.commit()
    # Chosen by the business day of the receipts it pays in, as the reconciliation does.
    handovers = _rows(session.get("/finance/export/handovers.csv" + q))
    got = [
        (r["method"], r["handed_fen"], r["receipts_fen"], r["difference_fen"]) for r in handovers
    ]
    assert got == [("cash", "19000", "20000", "-1000")]
    assert session.get("/finance/export/other.csv").status_code == 404


# Today, and 1 January in Shanghai: the demo's story is set up to two days back, which then lies
# in the year before (its prices must still be the story's).
@pytest.mark.parametrize("at", [None, "2027-01-01T02:00:00+00:00"])
def test_the_demo_reconciliation_shows_real_figures(app, login, at):
    from server.accounts.models import User
    from server.demo import load_demo

    with freeze_time(at) if at else contextlib.nullcontext():
        load_demo()
        finance = db.session.scalar(db.select(User).where(User.username == "finance"))
        session = login_as_demo(app, finance)
        page = session.get("/finance/reconciliation?lang=en").get_data(as_text=True)
    # eng2 yesterday: 4 batteries at 185.00 + 300.00 fee = 1,040.00 owed and collected.
    assert page.count("¥1,040.00") >= 2
    # eng1 two days ago: owed 820.00 by the list, 850.00 collected, 840.00 handed over.
    assert "¥820.00" in page and "¥850.00" in page and "¥840.00" in page
    assert "+¥30.00" in page and "-¥10.00" in page


def login_as_demo(app, user):
    """Sign in a demo user (password "demo") with a browser-like session."""
    client = app.test_client()
    form = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', form).group(1)
    response = client.post(
        "/login", data={"username": user.username, "password": "demo", "csrf_token": token}
    )
    assert response.status_code == 302
    return client


def test_every_finance_page_and_form_is_refused_to_office_and_engineers(app, make, login):
    rules = [r for r in app.url_map.iter_rules() if r.rule.startswith("/finance")]
    urls = [
        (method, re.sub(r"<int:\w+>", "1", re.sub(r"<(path:)?\w+>", "x", r.rule)))
        for r in rules
        for method in r.methods - {"HEAD", "OPTIONS"}
    ]
    assert len(urls) >= 15
    callers = [login(make.user("office")), login(make.user("engineer"))]
    for method, url in urls:
        for caller in callers:
            response = caller.post(url, json={}) if method == "POST" else caller.get(url)
            assert response.status_code == 403, (method, url)
        anonymous = app.test_client().get(url) if method == "GET" else None
        if anonymous is not None:
            assert anonymous.status_code == 302 and "/login" in anonymous.headers["Location"]
