"""How hard the contract suite fuzzes, and how reproducibly.

`make test` runs this suite on SQLite and on PostgreSQL; the budgets below keep it within a
couple of minutes on two cores. Raise them for a deeper local run, e.g.
``CONDUIT_CONTRACT_MAX_EXAMPLES=300 CONDUIT_CONTRACT_SCENARIOS=500 pytest tests/contract``.

With ``CI=true`` (or an explicit ``CONDUIT_CONTRACT_SEED``) generation is derandomized from a fixed
seed and Hypothesis keeps no example database, so a CI run explores what the previous one did;
otherwise every run explores afresh and replays what failed last time.
"""

from __future__ import annotations

import os
from typing import Any

import schemathesis
from hypothesis import HealthCheck, settings

from tests.conftest import IN_CI

# Fuzzing-phase examples per operation (the examples and coverage phases run in full besides).
MAX_EXAMPLES = int(os.environ.get("CONDUIT_CONTRACT_MAX_EXAMPLES", "40"))
# Stateful scenarios (sequences of linked calls) and the calls in each.
SCENARIOS = int(os.environ.get("CONDUIT_CONTRACT_SCENARIOS", "80"))
STEPS = int(os.environ.get("CONDUIT_CONTRACT_STEPS", "8"))

_SEED = os.environ.get("CONDUIT_CONTRACT_SEED")
DETERMINISTIC = IN_CI or _SEED is not None
SEED = int(_SEED or "20261126")

# Schemathesis' default list plus 413, which the contract documents for bodies over 1 MiB: an
# invalid request that is also too large is rightly refused without being read.
REJECTION_STATUSES = [
    *("400", "401", "403", "404", "405", "406", "409", "413", "415", "422", "428", "429", "5xx")
]

# Schemathesis' default list plus 412: a well-formed If-Match that names another version of the
# article is a precondition that failed (the documented answer), not valid data refused.
ACCEPTANCE_STATUSES = ["2xx", "3xx", "401", "403", "404", "409", "412", "429", "5xx"]

settings.register_profile(
    "conduit-contract",
    # Every example is a real request on a real database: timing says nothing about the contract.
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile(
    "conduit-contract-ci",
    parent=settings.get_profile("conduit-contract"),
    derandomize=True,
    database=None,
)
PROFILE = settings.get_profile("conduit-contract-ci" if DETERMINISTIC else "conduit-contract")


def schemathesis_config(*, only: str | None = None) -> schemathesis.Config:
    """Every phase and every check, on every operation (or `only` that operationId)."""
    config: dict[str, Any] = {
        "generation": {"mode": "all", "max-examples": MAX_EXAMPLES},
        "phases": {
            "examples": {"enabled": True},
            "coverage": {"enabled": True},
            "fuzzing": {"enabled": True},
            "stateful": {"enabled": True, "max-steps": STEPS},
        },
        "checks": {
            "enabled": True,
            "negative_data_rejection": {"expected-statuses": REJECTION_STATUSES},
            "positive_data_acceptance": {"expected-statuses": ACCEPTANCE_STATUSES},
        },
    }
    if only is not None:
        config["operations"] = [{"exclude-operation-id": only, "enabled": False}]
    if DETERMINISTIC:
        config["seed"] = SEED
        config["generation"] |= {"deterministic": True, "database": "none"}
    return schemathesis.Config.from_dict(config)
