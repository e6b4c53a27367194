"""The ``conduit`` command: operational tasks that run outside the HTTP server."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from conduit import create_admin
from conduit.core.settings import Settings
from conduit.db import migrate
from conduit.seed import command as seed_command


def _migrate(settings: Settings, _: argparse.Namespace) -> int:
    migrate.upgrade(settings.resolved_database_url)
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="conduit", description="Conduit API operations.")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser(
        "migrate", help="apply every pending migration to CONDUIT_DATABASE_URL"
    ).set_defaults(handler=_migrate)
    seed = commands.add_parser(
        "seed", help="migrate, then fill an empty CONDUIT_DATABASE_URL with generated data"
    )
    seed_command.add_arguments(seed)
    seed.set_defaults(handler=seed_command.run)
    admin = commands.add_parser(
        "create-admin",
        help="migrate, then create an admin account (or --promote an existing one)",
    )
    create_admin.add_arguments(admin)
    admin.set_defaults(handler=create_admin.run)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    settings = Settings()
    code: int = args.handler(settings, args)
    return code


if __name__ == "__main__":
    sys.exit(main())
