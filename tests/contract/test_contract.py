"""openapi/conduit.yaml against the app: every operation, every check, every phase, and
stateful sequences along the contract's links, on SQLite and on PostgreSQL.

A failure is a bug in the server or in the contract: fix it, never exclude the check or the
operation. Budgets and reproducibility: tests/contract/profile.py.
"""

from __future__ import annotations

from typing import Any

import pytest
import schemathesis
from schemathesis.specs.openapi.schemas import OpenApiSchema

from tests.contract.document import operation_ids
from tests.contract.profile import PROFILE, SCENARIOS, STEPS
from tests.contract.stateful import run_links

operation = schemathesis.pytest.from_fixture("operation_schema")


@pytest.mark.parametrize("operation_id", operation_ids())
@operation.parametrize()
@PROFILE
def test_operation_keeps_the_contract(case: schemathesis.Case[Any]) -> None:
    """Examples, coverage and fuzzing phases of one operation (``operation_id``)."""
    case.call_and_validate()


def test_linked_operations_keep_the_contract(contract_schema: OpenApiSchema) -> None:
    """Stateful phase: create, then read, update, comment, favorite and delete along the links."""
    progress = run_links(contract_schema, scenarios=SCENARIOS, steps=STEPS, profile=PROFILE)
    assert progress.scenarios >= SCENARIOS, "the explorations ended before the budget was spent"
    assert progress.calls > progress.scenarios
