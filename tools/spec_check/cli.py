"""`python -m tools.spec_check --base REF`: the contract against its version at a git ref."""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

from tools.spec_check.compare import breaking_changes
from tools.spec_check.document import Contract, ContractError

DEFAULT_CONTRACT = Path("openapi/conduit.yaml")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="spec-check", description="Fail on breaking changes to the OpenAPI contract."
    )
    parser.add_argument("--contract", type=Path, default=DEFAULT_CONTRACT, help="the new contract")
    base = parser.add_mutually_exclusive_group()
    base.add_argument("--base", default="main", help="git ref holding the old contract (main)")
    base.add_argument("--base-file", type=Path, help="the old contract as a file instead")
    return parser


def _at_ref(contract: Path, ref: str) -> str:
    """The file's content at `ref`, through git in the file's own folder."""
    result = subprocess.run(  # noqa: S603 - fixed argv, no shell
        ["git", "-C", str(contract.parent), "show", f"{ref}:./{contract.name}"],  # noqa: S607
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        raise ContractError(f"cannot read {contract} at {ref}: {result.stderr.strip()}")
    return result.stdout


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    base_name = str(args.base_file) if args.base_file else args.base
    try:
        old_text = (
            args.base_file.read_text("utf-8")
            if args.base_file
            else _at_ref(args.contract, args.base)
        )
        old = Contract.parse(old_text, source=f"{args.contract} at {base_name}")
        new = Contract.parse(args.contract.read_text("utf-8"), source=str(args.contract))
    except (ContractError, OSError) as exc:
        sys.stderr.write(f"spec-check: {exc}\n")
        return 2
    changes = breaking_changes(old, new)
    if not changes:
        sys.stdout.write(
            f"spec-check: {args.contract} has no breaking changes against {base_name}\n"
        )
        return 0
    lines = [
        f"spec-check: {args.contract} has {len(changes)} breaking change(s) against {base_name}:"
    ]
    lines += [f"  - {change}" for change in changes]
    sys.stderr.write("\n".join(lines) + "\n")
    return 1
