"""Library code refuses with domain errors (:mod:`central.problems`) and knows nothing of HTTP;
the API edge answers each with the status and body a route's own refusal would have."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest

from central.core.gateway_configs.service import validate_document
from central.errors import problem_response
from central.problems import Conflict, Invalid, NotFound, Problem
from central.timerange import check_order
from compliance.registry import regulator_named
from compliance.reports import month_bounds

NOON = datetime(2026, 11, 30, 12, tzinfo=UTC)


@pytest.mark.parametrize(
    ("refuse", "kind", "body"),
    [
        (
            lambda: regulator_named("xyz"),
            NotFound,
            {"status": 404, "code": "not_found", "message": "no hay un regulador 'xyz'"},
        ),
        (
            lambda: month_bounds("2026-13"),
            Invalid,
            {
                "status": 422,
                "code": "validation_error",
                "message": "el mes '2026-13' no tiene la forma aaaa-mm (por ejemplo 2026-11)",
                "details": [{"loc": ["path", "month"], "msg": "aaaa-mm"}],
            },
        ),
        (
            lambda: check_order(NOON, NOON),
            Invalid,
            {
                "status": 422,
                "code": "invalid_time_range",
                "message": "from 2026-11-30T12:00:00Z no es anterior a to 2026-11-30T12:00:00Z",
            },
        ),
    ],
)
def test_a_library_refusal_is_a_domain_error_answered_as_before(
    refuse: Callable[[], Any], kind: type[Problem], body: dict[str, Any]
) -> None:
    with pytest.raises(kind) as raised:
        refuse()
    response = problem_response(raised.value)
    assert (response.status_code, json.loads(response.body)) == (body["status"], {"error": body})


def test_a_gateway_document_the_agent_could_not_run_is_invalid_with_every_problem() -> None:
    with pytest.raises(Invalid) as raised:
        validate_document("gw-1", 3, "schema: 1\nnot_a_key: true\n")
    problem = raised.value
    assert problem.message.startswith("la configuración no es válida: gw-1/v3.yaml:")
    assert problem.details and {"file", "line", "field", "message"} == set(problem.details[0])


@pytest.mark.parametrize(
    ("problem", "code"),
    [
        (Conflict("x", code="secret_key_missing"), "secret_key_missing"),
        (Conflict("x"), "conflict"),
        (NotFound("x"), "not_found"),
    ],
)
def test_a_refusal_answers_its_own_code_else_its_status_code(problem: Problem, code: str) -> None:
    assert json.loads(problem_response(problem).body)["error"]["code"] == code
