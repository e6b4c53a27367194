"""Where ``make contract`` keeps its users' credentials, shared by the runner and the CLI hooks.

A module of its own because tests/contract/live_hooks.py registers Schemathesis hooks globally
when imported: the runner, which the pytest suite imports, must not import it, or the
in-process contract tests would run with hooks meant for the live server.
"""

from __future__ import annotations

# Names the Web Fuzzing Commons document with Alice and Bob, read through `[auth.wfc]`.
AUTH_DOCUMENT_VARIABLE = "CONDUIT_CONTRACT_AUTH"
# The admin's document, next to it.
ADMIN_DOCUMENT = "admin.json"
