"""Operations raise message keys; every key is in the catalogues, and each reader hears it in
their language: a page in the page's, the JSON API in English with the key beside.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

from server.i18n import catalogue

SERVER = Path(__file__).resolve().parents[2] / "server"
KEY = re.compile(r"^(err|form\.err)\.[a-z0-9_.-]*[a-z0-9_]$")  # not an f-string's head


def _string_literals():
    for path in SERVER.rglob("*.py"):
        if "migrations" in path.parts:
            continue
        for node in ast.walk(ast.parse(path.read_text("utf-8"))):
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                yield path, node.value


def test_every_error_key_the_server_raises_is_in_the_catalogue():
    known = catalogue("en")
    used = {(p.relative_to(SERVER).as_posix(), s) for p, s in _string_literals() if KEY.match(s)}
    assert len(used) > 40, "the scan found too few keys to be looking at the right files"
    assert sorted((p, k) for p, k in used if k not in known) == []


def test_every_thing_a_page_may_not_find_has_its_sentence():
    known = catalogue("en")
    nouns = set()
    for path in SERVER.rglob("*.py"):
        nouns |= set(re.findall(r'get_or_404\(\w+, [^,]+, "([a-z-]+)"\)', path.read_text("utf-8")))
    assert nouns and sorted(n for n in nouns if f"err.no_such.{n}" not in known) == []
    hidden = set()
    for path in SERVER.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text("utf-8"))):
            called = getattr(node, "func", None)
            if getattr(called, "attr", getattr(called, "id", None)) == "get_visible":
                hidden.add(node.args[-1].value)
    assert hidden and sorted(n for n in hidden if f"err.not_visible.{n}" not in known) == []


def test_a_page_says_an_operations_refusal_in_its_language(make, login):
    request = make.request()
    session = login(make.user("office"))
    url = f"/office/requests/{request.id}/steps/phone-response?lang=zh-Hans"
    assert session.post(url, data={"csrf_token": session.csrf}).status_code == 302
    again = session.post(url, data={"csrf_token": session.csrf})
    assert again.status_code == 409
    assert "电话响应已记录。" in again.get_data(as_text=True)
    missing = session.get("/office/customers/999999?lang=zh-Hant")
    assert missing.status_code == 404 and "沒有這位客戶。" in missing.get_data(as_text=True)


def test_the_api_says_it_in_english_with_the_key_beside(make, login):
    session = login(make.user("office"))
    body = {"customer_id": 999999, "problem": "断网", "channel": "hotline"}
    response = session.post("/api/requests", json=body)
    assert response.status_code == 422
    payload = response.get_json()
    assert payload["message"] == "Customer 999999 does not exist."
    assert payload["message_key"] == "err.register.no_customer"
    assert payload["fields"] == {"customer_id": ["No such customer."]}
