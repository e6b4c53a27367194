"""A PostgreSQL cluster of the tests' own, which they may stop, crash and restart at will.

The machine's shared cluster (127.0.0.1:5432) is never touched: ``PostgresCluster.create()``
runs ``initdb`` into a temporary directory with the newest server binaries under
``/usr/lib/postgresql/*/bin`` and serves it on a free port of 127.0.0.1, socket in the same
directory. PostgreSQL refuses to run as root, so under root every command runs as the
``postgres`` OS user (``runuser``), which owns the directory. ``fsync`` is off: these tests
crash the API server and stop PostgreSQL cleanly or with ``-m immediate``, never the machine.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from tests.live_server import HOST, free_port

PG_USER = "postgres"
START_TIMEOUT_SECONDS = 60


def server_binaries() -> Path | None:
    """The newest installed PostgreSQL server's bin directory, if any."""

    def version(path: Path) -> tuple[int, ...]:
        return tuple(int(part) for part in re.findall(r"\d+", path.parent.parent.name))

    candidates = [path.parent for path in Path("/usr/lib/postgresql").glob("*/bin/pg_ctl")]
    return max(candidates, key=lambda bindir: version(bindir / "pg_ctl"), default=None)


@dataclass
class PostgresCluster:
    bindir: Path
    base: Path
    port: int

    @property
    def data(self) -> Path:
        return self.base / "data"

    @property
    def log(self) -> Path:
        return self.base / "postgres.log"

    @property
    def admin_url(self) -> str:
        return f"postgresql+asyncpg://{PG_USER}@{HOST}:{self.port}/postgres"

    @classmethod
    def create(cls, bindir: Path) -> PostgresCluster:
        base = Path(tempfile.mkdtemp(prefix="conduit-faults-pg-"))
        if os.geteuid() == 0:
            shutil.chown(base, user=PG_USER, group=None)
        cluster = cls(bindir=bindir, base=base, port=free_port())
        cluster._run(
            "initdb", "-D", str(cluster.data), "-U", PG_USER, "-A", "trust", "-E", "UTF8",
            "--locale=C", "--no-sync", "--no-instructions",
        )  # fmt: skip
        return cluster

    def _run(self, tool: str, *args: str) -> None:
        command = [str(self.bindir / tool), *args]
        if os.geteuid() == 0:
            command = ["runuser", "-u", PG_USER, "--", *command]
        result = subprocess.run(  # noqa: S603 - fixed binaries, arguments built here
            command, capture_output=True, text=True, check=False, cwd=self.base
        )
        if result.returncode != 0:
            raise RuntimeError(
                f"{tool} failed ({result.returncode}): {result.stderr or result.stdout}\n"
                f"{self.tail()}"
            )

    def tail(self, lines: int = 20) -> str:
        if not self.log.exists():
            return ""
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])

    def start(self) -> None:
        options = f"-p {self.port} -k {self.base} -c listen_addresses={HOST} -c fsync=off"
        self._run(
            "pg_ctl", "start", "-D", str(self.data), "-l", str(self.log), "-w",
            "-t", str(START_TIMEOUT_SECONDS), "-o", options,
        )  # fmt: skip

    def stop(self, mode: str = "fast") -> None:
        """``fast`` ends sessions cleanly; ``immediate`` kills the server like a crash."""
        self._run("pg_ctl", "stop", "-D", str(self.data), "-m", mode, "-w")

    def running(self) -> bool:
        return (self.data / "postmaster.pid").exists()

    def destroy(self) -> None:
        if self.running():
            self.stop("immediate")
        shutil.rmtree(self.base, ignore_errors=True)
