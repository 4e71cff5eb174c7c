"""Fuzzing against the contract: schemathesis, driven by the live server's own /openapi.json.

For every operation of the document, Hypothesis generates requests from the
documented parameters and bodies, valid ones (positive) and ones that break
the schema (negative), and sends them with an admin key to a real server
(gunicorn, two workers) on each backend. Every response must:

- not be a 5xx;
- have a documented status code, content type and body (checked against the
  document's schema for that status, problem+json errors included);
- if it is an error, be ``application/problem+json`` with the RFC 9457 members;
- in negative mode, be a 4xx (the invalid request is refused).

``CREDENCE_FUZZ_EXAMPLES`` sets the examples per operation and mode (default
50); ``CREDENCE_ROBUSTNESS_REPORT`` names a JSON file that gets the counts.
"""

from __future__ import annotations

import json
import os
import re
from collections import Counter
from collections.abc import Callable
from typing import Any

import hypothesis
import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.core.result import Err
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_schema_conformance,
    status_code_conformance,
)

from tests.robustness.conftest import Deployment
from tests.robustness.report import record

EXAMPLES = int(os.environ.get("CREDENCE_FUZZ_EXAMPLES", "50"))
PROBLEM_MEMBERS = {"type", "title", "status", "detail", "errors"}
# Stored ids for the path parameters of the positive cases (the job's is set by `seeded`).
KNOWN = {"claim_id": "seed-2", "source_id": "wire", "question_id": "q-seed", "job_id": ""}
PATH_NAMES = re.compile(r"{(\w+)}")
REFUSALS = [400, 401, 403, 404, 405, 409, 413, 414, 415, 422]

SEED: dict[str, Any] = {
    "sources": {"wire": {"prior": {"grade": "B"}}, "gov-a": {"prior": {"grade": "C"}}},
    "claims": [
        {"id": "seed-1", "text": "A seeded claim.", "attributions": [{"source": "wire"}]},
        {
            "id": "seed-2",
            "text": "Another seeded claim.",
            "question": "q-seed",
            "attributions": [{"source": "gov-a", "via": ["wire"], "certainty": 0.5}],
        },
    ],
}


def _problem_check(response: schemathesis.Response) -> str | None:
    """What is wrong with an error response, or None."""
    if response.status_code < 400:
        return None
    ctype = response.headers.get("content-type", [""])[0]
    if not ctype.startswith("application/problem+json"):
        return f"error {response.status_code} is {ctype!r}, not problem+json"
    body = json.loads(response.content)
    if set(body) != PROBLEM_MEMBERS or body["status"] != response.status_code:
        return f"error {response.status_code} body is not a problem: {body!r}"
    return None


def _operation_test(
    base: str,
    operation: Any,
    mode: GenerationMode,
    checks: list[Any],
    headers: dict[str, str],
    seen: Counter[int],
) -> Callable[[], None]:
    """A Hypothesis test of one operation; ``seen`` counts the statuses it got."""
    strategy = operation.as_strategy(generation_mode=mode)
    known = {name: KNOWN[name] for name in PATH_NAMES.findall(operation.path)}
    if known and mode == GenerationMode.POSITIVE:
        # Random ids are nearly all unknown (404): half the cases name stored ones.
        strategy = strategy | operation.as_strategy(generation_mode=mode, path_parameters=known)

    @hypothesis.settings(
        max_examples=EXAMPLES,
        database=None,
        derandomize=True,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(case=strategy)
    def run(case: schemathesis.Case) -> None:
        response = case.call(base_url=base, headers=headers, timeout=60)
        seen[response.status_code] += 1
        case.validate_response(response, checks=checks, headers=headers)
        wrong = _problem_check(schemathesis.Response.from_any(response))
        assert wrong is None, f"{case.as_curl_command(headers=headers)}\n{wrong}"

    return run


def _fuzz(live: Deployment, mode: GenerationMode) -> dict[str, Any]:
    headers = {"Authorization": f"Bearer {live.keys['admin']}"}
    # An invalid request must be refused with one of the contract's 4xx.
    config = schemathesis.Config.from_dict(
        {"checks": {"negative_data_rejection": {"expected-statuses": REFUSALS}}}
    )
    document = live.client("GET", "/openapi.json").body
    if mode == GenerationMode.NEGATIVE:
        # Broken credentials are the access table's subject (test_access.py); here the
        # negative cases break parameters and bodies, each sent with the admin key.
        document.pop("security", None)
    schema = schemathesis.openapi.from_dict(document, config=config)
    checks = [
        not_a_server_error,
        status_code_conformance,
        content_type_conformance,
        response_schema_conformance,
    ]
    if mode == GenerationMode.NEGATIVE:
        checks.append(negative_data_rejection)
    examples: Counter[str] = Counter()
    statuses: dict[str, Counter[int]] = {}
    failures: dict[str, str] = {}
    unbreakable: set[str] = set()
    for result in schema.get_all_operations():
        if isinstance(result, Err):
            failures[f"schema: {result.err()}"] = "an operation's definition cannot be used"
            continue
        operation = result.ok()
        label = operation.label
        if label.startswith("GET /openapi") or label.startswith("GET /docs"):
            continue
        seen: Counter[int] = statuses.setdefault(label, Counter())
        run = _operation_test(live.client.base, operation, mode, checks, headers, seen)
        try:
            run()
        except hypothesis.errors.Unsatisfiable:
            # Nothing to break in an operation without a body or a query: its path
            # parameters are plain strings.
            if mode == GenerationMode.NEGATIVE and not (len(operation.body) + len(operation.query)):
                unbreakable.add(label)
            else:
                failures[label] = "no example could be generated"
        except Exception as exc:  # every operation is fuzzed; failures are reported together
            failures[label] = f"{type(exc).__name__}: {exc}"[:4_000]
        examples[label] = sum(seen.values())
    return {
        "examples": dict(examples),
        "statuses": statuses,
        "failures": failures,
        "unbreakable": unbreakable,
    }


@pytest.fixture(scope="module")
def seeded(live: Deployment) -> Deployment:
    for source_id, source in SEED["sources"].items():
        assert live.client("PUT", f"/v1/sources/{source_id}", source).status == 200
    assert live.client("POST", "/v1/claims", {"claims": SEED["claims"]}).status == 200
    r = live.client("POST", "/v1/rescore")
    assert r.status == 202, r.body
    KNOWN["job_id"] = r.body["job"]["id"]
    return live


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE], ids=str)
def test_every_operation_keeps_the_contract(seeded: Deployment, mode: GenerationMode) -> None:
    outcome = _fuzz(seeded, mode)
    record(
        "fuzz",
        f"{seeded.backend}/{mode.value}",
        {
            "examples": outcome["examples"],
            "statuses": {
                label: dict(sorted(c.items())) for label, c in outcome["statuses"].items()
            },
            "failures": sorted(outcome["failures"]),
            "unbreakable": sorted(outcome["unbreakable"]),
        },
    )
    assert not outcome["failures"], "\n\n".join(
        f"{label}:\n{message}" for label, message in outcome["failures"].items()
    )
    # Every operation ran (at most EXAMPLES each), but those with nothing to break.
    ran = {label for label, n in outcome["examples"].items() if n > 0}
    assert ran == set(outcome["examples"]) - outcome["unbreakable"]
    # No secret in the server's log.
    assert not any(key in seeded.log.read_text() for key in seeded.keys.values())
