"""``make contract`` and ``make fuzz``: the Schemathesis CLI against a real server on PostgreSQL.

One run: a fresh database migrated by Alembic, uvicorn started on it the way ``make serve``
starts it (tests/live_server.py: uvloop, httptools, a free port), with rate limiting off and
cheap argon2; then two users registered through ``POST /api/users`` and an admin made by
``conduit create-admin``, written to a Web Fuzzing Commons auth document under var/ that says how
each logs in (``POST /api/users/login``, ``Authorization: Token <jwt>``); then ``schemathesis
run`` on openapi/conduit.yaml with every check and every phase (tests/contract/schemathesis.toml,
hooks in tests/contract/live_hooks.py), JUnit and HAR reports in the report directory. The
server is stopped and the database dropped afterwards, whatever happened. The exit status is
Schemathesis' own: non-zero on any failure.

``make contract`` (CI) explores from a fixed seed (``CONDUIT_CONTRACT_SEED``, default below)
with deterministic generation, so each run explores what the previous one did. ``make fuzz``
draws a random seed and prints it first; ``make fuzz CONDUIT_CONTRACT_SEED=<seed>`` replays it.
Both give a time budget (``--max-time``): fuzzing and stateful testing then start over until it
is spent, pass n from seed + n. A single stateful pass ends at the first replay the database
does not repeat (the user it registered now exists...), often after a handful of links; the
passes that follow are what reach the rest, such as reading an article after deleting it.

    python -m tests.contract.cli_runner [--fuzz] [--max-examples N] [--max-time SECONDS]
                                        [--report-dir DIR] [--app MODULE:FACTORY] [-- ARGS]

ARGS go to ``schemathesis run`` as they are (``-- --include-operation-id GetArticles``).
``--app`` serves another app factory: tests/contract/test_cli_runner.py serves broken ones.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import secrets
import signal
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

import httpx
import pytest
from pydantic import SecretStr

from conduit import create_admin
from conduit.core.settings import Settings
from generated import models
from tests.contract.auth_documents import ADMIN_DOCUMENT, AUTH_DOCUMENT_VARIABLE
from tests.live_server import (
    APP_FACTORY,
    JWT_SECRET,
    cheap_argon2,
    fresh_database,
    running_server,
)

ROOT = Path(__file__).resolve().parents[2]
CONTRACT = ROOT / "openapi" / "conduit.yaml"
CONFIG = Path(__file__).with_name("schemathesis.toml")
SCHEMATHESIS = Path(sys.executable).with_name("schemathesis")
ADMIN_URL = os.environ.get(
    "CONDUIT_TEST_POSTGRES_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres"
)
SEED_VARIABLE = "CONDUIT_CONTRACT_SEED"
DEFAULT_SEED = 20261126
PHASES = "examples,coverage,fuzzing,stateful"
TERMINATE_SECONDS = 10.0


@dataclass(frozen=True)
class Identity:
    """An account Schemathesis acts as; ``name`` is its WFC entry."""

    name: str
    username: str
    email: str
    password: str
    role: str


def say(message: str, stream: TextIO = sys.stdout) -> None:
    stream.write(f"contract: {message}\n")
    stream.flush()


def shown(path: Path) -> Path:
    """``path`` relative to the repository when it is inside it, for shorter messages."""
    with contextlib.suppress(ValueError):
        return path.relative_to(ROOT)
    return path


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="cli_runner", description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--fuzz",
        action="store_true",
        help=f"a random seed unless ${SEED_VARIABLE} is set, and no deterministic generation",
    )
    parser.add_argument("--max-examples", type=int, default=30, help="per operation and phase")
    parser.add_argument(
        "--max-time",
        type=int,
        help="seconds; fuzzing and stateful testing start over until they are spent",
    )
    parser.add_argument(
        "--app", default=APP_FACTORY, help="the app factory uvicorn serves (tests break it)"
    )
    parser.add_argument("--report-dir", type=Path, default=ROOT / "var" / "reports" / "contract")
    parser.add_argument("extra", nargs="*", help="passed on to `schemathesis run`")
    return parser.parse_args(argv)


def choose_seed(*, fuzz: bool) -> int:
    chosen = os.environ.get(SEED_VARIABLE)
    if chosen:
        return int(chosen)
    return secrets.randbelow(2**31) if fuzz else DEFAULT_SEED


def identities() -> list[Identity]:
    """Alice and Bob, peers who must not see each other's objects, then an admin."""
    return [
        Identity(name, f"contract-{name}", f"{name}@contract.example", secrets.token_hex(16), role)
        for name, role in (("alice", "user"), ("bob", "user"), ("admin", "admin"))
    ]


async def enroll(base_url: str, database_url: str, people: Sequence[Identity]) -> None:
    """Users register through the API; admins come from ``conduit create-admin``'s code."""
    async with httpx.AsyncClient(base_url=base_url, timeout=10.0) as client:
        for person in people:
            if person.role != "user":
                continue
            user = {"username": person.username, "email": person.email, "password": person.password}
            response = await client.post("/api/users", json={"user": user})
            if response.status_code != 201:
                raise RuntimeError(f"registering {person.username}: {response.status_code}")
    for person in people:
        if person.role == "admin":
            new = models.NewUser(
                username=person.username, email=person.email, password=person.password
            )
            await create_admin.create(admin_settings(database_url), new)


def admin_settings(database_url: str) -> Settings:
    return Settings(
        environment="test",
        database_url=database_url,
        jwt_secret=SecretStr(JWT_SECRET),
        argon2_memory_kib=int(cheap_argon2["CONDUIT_ARGON2_MEMORY_KIB"]),
        argon2_time_cost=int(cheap_argon2["CONDUIT_ARGON2_TIME_COST"]),
        argon2_parallelism=int(cheap_argon2["CONDUIT_ARGON2_PARALLELISM"]),
    )


def auth_document(people: Sequence[Identity]) -> dict[str, object]:
    """A WFC auth document: each identity logs in with its own credentials, as a client would.

    ``payloadRaw`` because RealWorld's login body nests the credentials (``{"user": {...}}``),
    which WFC's ``payloadUserPwd`` cannot express.
    """
    token = {
        "extractFrom": "body",
        "extractSelector": "/user/token",
        "sendIn": "header",
        "sendName": "Authorization",
        "sendTemplate": "Token {token}",
    }
    entries = [
        {
            "name": person.name,
            "loginEndpointAuth": {
                "endpoint": "/api/users/login",
                "verb": "POST",
                "contentType": "application/json",
                "payloadRaw": json.dumps(
                    {"user": {"email": person.email, "password": person.password}}
                ),
                "token": token,
            },
        }
        for person in people
    ]
    return {"schemaVersion": "1.0", "auth": entries}


def write_auth_documents(folder: Path, people: Sequence[Identity]) -> Path:
    """``auth.json`` (the users, for ``[auth.wfc]``) and ``admin.json`` (for live_hooks.py)."""
    users = [person for person in people if person.role == "user"]
    admins = [person for person in people if person.role == "admin"]
    for name, listed in (("auth.json", users), (ADMIN_DOCUMENT, admins)):
        (folder / name).write_text(json.dumps(auth_document(listed), indent=2), "utf-8")
    return folder / "auth.json"


def schemathesis_command(args: argparse.Namespace, base_url: str, seed: int) -> list[str]:
    report_dir = args.report_dir
    command = [str(SCHEMATHESIS), "--config-file", str(CONFIG), "run", str(CONTRACT)]
    command += ["--url", f"{base_url}/api", "--checks", "all", "--phases", PHASES]
    command += ["--max-examples", str(args.max_examples), "--seed", str(seed)]
    if args.max_time is not None:
        command += ["--max-time", str(args.max_time)]
    # Deterministic generation keeps no example database; a fuzz run keeps none either, so
    # that its seed alone replays it.
    command += ["--generation-database", "none"] if args.fuzz else ["--generation-deterministic"]
    command += ["--report", "junit,har", "--report-dir", str(report_dir)]
    command += ["--report-junit-path", str(report_dir / "junit.xml")]
    command += ["--report-har-path", str(report_dir / "har.json")]
    return command + list(args.extra)


async def run_schemathesis(command: Sequence[str], auth_path: Path) -> int:
    env = {**os.environ, AUTH_DOCUMENT_VARIABLE: str(auth_path)}
    process = await asyncio.create_subprocess_exec(*command, cwd=ROOT, env=env)
    try:
        return await process.wait()
    finally:
        if process.returncode is None:
            process.terminate()
            try:
                await asyncio.wait_for(process.wait(), TERMINATE_SECONDS)
            except TimeoutError:
                process.kill()
                await process.wait()


async def against_live_server(args: argparse.Namespace, seed: int) -> int:
    args.report_dir.mkdir(parents=True, exist_ok=True)
    for old_log in args.report_dir.glob("server-*.log"):
        old_log.unlink()
    async with fresh_database(ADMIN_URL) as database_url:
        env = {**cheap_argon2, "CONDUIT_ENVIRONMENT": "production"}
        async with running_server(database_url, args.report_dir, env=env, app=args.app) as server:
            people = identities()
            await enroll(server.base_url, database_url, people)
            # The passwords are the run's own, for a database dropped at the end; still, the
            # documents holding them go once the run is over.
            (ROOT / "var").mkdir(exist_ok=True)
            with tempfile.TemporaryDirectory(dir=ROOT / "var", prefix="contract-") as folder:
                auth_path = write_auth_documents(Path(folder), people)
                command = schemathesis_command(args, server.base_url, seed)
                status = await run_schemathesis(command, auth_path)
            if status != 0:
                say(f"server log: {shown(server.log)}")
            return status


async def main_async(args: argparse.Namespace, seed: int) -> int:
    # SIGTERM (a CI timeout) cancels the run like Ctrl-C does, so the clean-up still happens.
    task = asyncio.current_task()
    assert task is not None
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, task.cancel)
    return await against_live_server(args, seed)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    args.report_dir = args.report_dir.resolve()
    seed = choose_seed(fuzz=args.fuzz)
    replay = f"make {'fuzz' if args.fuzz else 'contract'} {SEED_VARIABLE}={seed}"
    say(f"seed {seed} (replay: {replay})")
    started = time.monotonic()
    try:
        status = asyncio.run(main_async(args, seed))
    except (pytest.fail.Exception, pytest.skip.Exception) as error:
        # tests/live_server.py reports a missing PostgreSQL or a server that never got ready so.
        say(str(error), stream=sys.stderr)
        status = 2
    except (KeyboardInterrupt, asyncio.CancelledError):
        status = 130
    outcome = "passed" if status == 0 else f"FAILED (exit status {status})"
    elapsed = time.monotonic() - started
    say(f"{outcome} in {elapsed:.0f}s; seed {seed}; reports in {shown(args.report_dir)}")
    return status


if __name__ == "__main__":
    sys.exit(main())
