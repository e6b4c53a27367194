"""Breaking-change check for openapi/conduit.yaml (`make spec-check BASE=<git ref>`).

A change is breaking when a client written against the old contract can fail against the new
one: on the request side the new contract must accept everything the old one accepted, on the
response side it may only produce what the old one could. See `compare.breaking_changes`.
"""

from tools.spec_check.compare import breaking_changes
from tools.spec_check.document import Contract, ContractError

__all__ = ["Contract", "ContractError", "breaking_changes"]
