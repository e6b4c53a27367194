"""The stateful run: sequences of calls that follow the contract's links, checked step by step.

Each scenario starts from an operation that creates something (a user, an article, a comment)
and feeds what it returned (`$response.body#/article/slug`, ...) to the operations the links
name. The database is real and keeps every row, so a scenario Hypothesis replays may not draw
the same way twice (a user it registered now exists, ...): Hypothesis then stops with
``Flaky``/an inconsistent replay. Like Schemathesis' own runner, that ends one exploration, not
the test; a failed check is recorded the moment it happens, so a replay that does not reproduce
it cannot hide it. Explorations restart until the scenario budget is spent.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from hypothesis import Phase, settings
from hypothesis.errors import Flaky
from schemathesis import Case, Response
from schemathesis.core.failures import FailureGroup
from schemathesis.engine.errors import is_inconsistent_replay
from schemathesis.specs.openapi.schemas import OpenApiSchema

MAX_EXPLORATIONS = 25


@dataclass
class Progress:
    scenarios: int = 0
    calls: int = 0
    steps: list[str] = field(default_factory=list)  # of the scenario running now
    failures: list[tuple[FailureGroup, list[str]]] = field(default_factory=list)


def run_links(schema: OpenApiSchema, *, scenarios: int, steps: int, profile: settings) -> Progress:
    """Run linked scenarios until `scenarios` have run; raise the first failed check."""
    progress = Progress()
    machine = _recording(schema.as_state_machine(), progress)
    for _ in range(MAX_EXPLORATIONS):
        remaining = scenarios - progress.scenarios
        if remaining <= 0:
            break
        run = settings(
            profile, phases=[Phase.generate], max_examples=remaining, stateful_step_count=steps
        )
        try:
            machine.run(settings=run)
        except Exception as error:
            if progress.failures:
                break
            if not (isinstance(error, Flaky) or is_inconsistent_replay(error)):
                raise
        else:
            break
    if progress.failures:
        failure, scenario = progress.failures[0]
        failure.add_note("Calls of the failing scenario:\n" + "\n".join(scenario))
        raise failure
    return progress


def _recording(base: Any, progress: Progress) -> Any:
    class Recording(base):  # type: ignore[misc]
        def setup(self) -> None:
            progress.scenarios += 1
            progress.steps = []

        def after_call(self, response: Response, case: Case[Any]) -> None:
            super().after_call(response, case)
            progress.calls += 1
            step = f"  {case.method} {case.formatted_path} -> {response.status_code}"
            progress.steps.append(step)

        def validate_response(self, response: Response, case: Case[Any], **kwargs: Any) -> None:
            try:
                super().validate_response(response, case, **kwargs)
            except FailureGroup as failure:
                progress.failures.append((failure, list(progress.steps)))
                raise

    return Recording
