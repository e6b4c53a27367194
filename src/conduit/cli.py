"""The ``conduit`` command: operational tasks that run outside the HTTP server."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from conduit.core.settings import Settings
from conduit.db import migrate


def _migrate(settings: Settings, _: argparse.Namespace) -> int:
    migrate.upgrade(settings.resolved_database_url)
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="conduit", description="Conduit API operations.")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser(
        "migrate", help="apply every pending migration to CONDUIT_DATABASE_URL"
    ).set_defaults(handler=_migrate)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    settings = Settings()
    code: int = args.handler(settings, args)
    return code


if __name__ == "__main__":
    sys.exit(main())
