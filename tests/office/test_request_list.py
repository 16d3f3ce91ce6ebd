"""One query finds requests for the register page, the API's list and the SLA board.

The same filter must give the same requests wherever it is offered: each surface is read as a
user reads it (the page's rows, the API's items, the board's rows) and compared.
"""

from __future__ import annotations

import re

import pytest

from server.extensions import db
from server.register.models import RequestStatus


@pytest.fixture
def register(make):
    acme, bolt = make.customer(name="Acme 机房"), make.customer(name="Bolt 工厂")
    made = {
        "acme-hotline": make.request(customer=acme, channel="hotline", problem="交换机掉线"),
        "acme-email": make.request(customer=acme, channel="email", problem="打印机卡纸"),
        "bolt-hotline": make.request(customer=bolt, channel="hotline", problem="服务器报警"),
        "bolt-fax": make.request(customer=bolt, channel="fax", problem="交换机风扇"),
    }
    made["bolt-fax"].status = RequestStatus.CLOSED
    db.session.commit()
    return {name: r.number for name, r in made.items()}


def _page_numbers(session, query: str) -> set[str]:
    page = session.get(f"/office/requests?{query}").get_data(as_text=True)
    return set(re.findall(r'/office/requests/\d+">([^<]+)</a>', page))


def _api_numbers(session, query: str) -> set[str]:
    body = session.get(f"/api/requests?per_page=200&{query}").get_json()
    return {item["number"] for item in body["items"]}


def _board_numbers(session, query: str) -> set[str]:
    rows = session.get(f"/office/board/rows?{query}").get_data(as_text=True)
    return set(re.findall(r'data-request="([^"]+)"', rows))


def test_the_same_filter_finds_the_same_requests_everywhere(make, login, register):
    session = login(make.user("office"))
    every = set(register.values())
    assert _page_numbers(session, "") == _api_numbers(session, "") == every
    hotline = {register["acme-hotline"], register["bolt-hotline"]}
    assert _page_numbers(session, "channel=hotline") == hotline
    assert _api_numbers(session, "channel=hotline") == hotline
    assert _board_numbers(session, "channel=hotline") == hotline  # both still open
    closed = {register["bolt-fax"]}
    assert _page_numbers(session, "status=closed") == _api_numbers(session, "status=closed")
    assert _api_numbers(session, "status=closed") == closed
    # The board shows open requests only: a closed one is not on it, whatever the filter.
    assert _board_numbers(session, "channel=fax") == set()
    assert _board_numbers(session, "") == every - closed


def test_searching_by_words_finds_problem_and_customer_name(make, login, register):
    session = login(make.user("office"))
    assert _page_numbers(session, "q=交换机") == {register["acme-hotline"], register["bolt-fax"]}
    assert _page_numbers(session, "q=Bolt") == {register["bolt-hotline"], register["bolt-fax"]}
    assert _board_numbers(session, "customer=Bolt") == {register["bolt-hotline"]}
