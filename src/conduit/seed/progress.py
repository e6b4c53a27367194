"""A progress bar on stderr: redrawn in place on a terminal, a line every few seconds in logs."""

from __future__ import annotations

import time
from typing import Protocol, TextIO

BAR_WIDTH = 30
REDRAW_SECONDS = 0.1
LOG_SECONDS = 5.0


class Bar(Protocol):
    def advance(self, units: int) -> None: ...

    def finish(self) -> None: ...


class Progress(Protocol):
    def start(self, label: str, total: int) -> Bar: ...


class _SilentBar:
    def advance(self, units: int) -> None:
        del units

    def finish(self) -> None:
        pass


class SilentProgress:
    """For tests and library callers that want no output."""

    def start(self, label: str, total: int) -> Bar:
        del label, total
        return _SilentBar()


class StreamBar:
    def __init__(self, stream: TextIO, label: str, total: int, *, interactive: bool) -> None:
        self._stream = stream
        self._label = label
        self._total = max(total, 1)
        self._done = 0
        self._interactive = interactive
        self._started = time.monotonic()
        self._shown = self._started

    def advance(self, units: int) -> None:
        self._done += units
        now = time.monotonic()
        if now - self._shown >= (REDRAW_SECONDS if self._interactive else LOG_SECONDS):
            self._shown = now
            self._show(final=False)

    def finish(self) -> None:
        self._show(final=True)

    def _show(self, *, final: bool) -> None:
        elapsed = max(time.monotonic() - self._started, 1e-9)
        share = min(self._done / self._total, 1.0)
        filled = int(BAR_WIDTH * share)
        bar = "#" * filled + "." * (BAR_WIDTH - filled)
        line = (
            f"{self._label:<13} [{bar}] {share:6.1%} {self._done:>10,}/{self._total:,}"
            f"  {self._done / elapsed:>10,.0f}/s  {elapsed:6.1f}s"
        )
        if self._interactive:
            self._stream.write(f"\r{line}" + ("\n" if final else ""))
        else:
            self._stream.write(line + "\n")
        self._stream.flush()


class StreamProgress:
    """One bar per table on ``stream`` (stderr for the CLI)."""

    def __init__(self, stream: TextIO) -> None:
        self._stream = stream

    def start(self, label: str, total: int) -> Bar:
        return StreamBar(self._stream, label, total, interactive=self._stream.isatty())
