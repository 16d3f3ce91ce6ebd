"""Schema-driven fuzzing of every operation of /api/openapi.json, as office and as a phone.

Fixed seed (derandomized) and a small budget per operation so that it fits CI; fails on any 5xx
or any answer its own description does not allow. Runs on SQLite, and on PostgreSQL when the
suite does (ONSITE_TEST_POSTGRES).
"""

from __future__ import annotations

import itertools

import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance

# Examples per operation and principal: about 1,500 requests in all.
EXAMPLES = 15
# Valid input per the description, and input that breaks it (which must get a 4xx, not a 500).
MODES = (GenerationMode.POSITIVE, GenerationMode.NEGATIVE)
CHECKS = [not_a_server_error, response_schema_conformance]


def _principals(make, login, signed_device) -> dict[str, dict[str, str]]:
    office = login(make.user("office"))
    phone = signed_device(make.user("engineer"))
    cookie = office.client.get_cookie("session").value
    return {
        "office": {"Cookie": f"session={cookie}", "X-CSRFToken": office.csrf},
        "device": phone.headers,
    }


def _fuzz(operation, headers: dict[str, str], calls: list[int], mode) -> None:
    @settings(
        max_examples=EXAMPLES,
        derandomize=True,
        deadline=None,
        database=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(case=operation.as_strategy(generation_mode=mode))
    def run(case) -> None:
        # The WSGI client does not unzip; the compressed answers are checked elsewhere.
        response = case.call(headers={**headers, "Accept-Encoding": "identity"})
        calls.append(response.status_code)
        case.validate_response(response, checks=CHECKS)

    run()


def test_every_operation_answers_within_its_description(app, make, login, signed_device):
    # Some rows, so that small ids find something.
    visit = make.visit(make.request(make.customer()), engineer=make.user("engineer"))
    assert visit.id
    principals = _principals(make, login, signed_device)
    schema = schemathesis.openapi.from_wsgi("/api/openapi.json", app)
    failures: list[str] = []
    operations = 0
    calls: list[int] = []
    for result in schema.get_all_operations():
        operation = result.ok()
        operations += 1
        for (who, headers), mode in itertools.product(principals.items(), MODES):
            try:
                _fuzz(operation, headers, calls, mode)
            except Unsatisfiable:
                assert mode is GenerationMode.NEGATIVE  # nothing to break: no parameters, no body
            except BaseException as exc:
                failures.append(f"{who} {mode.value} {operation.label}: {str(exc)[:600]}")
    assert operations >= 40 and len(calls) >= operations * 4 * 5, (operations, len(calls))
    print(f"{operations} operations, {len(calls)} requests")
    assert failures == [], "\n\n".join(failures)
