"""The run's results as a markdown table (terminal and var/reports/bench.md), JSON and a chart."""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from matplotlib.axes import Axes
from matplotlib.figure import Figure

from bench.results import Report, ScalePoint, ScenarioResult
from bench.server import Memory

MIB = 1024
LEGEND = (
    "Closed loop (wrk): each connection sends its next request when the last one is answered, so "
    "at a fixed number of connections p50 is mostly queueing (about connections / requests/s). "
    "Errors are socket errors (connect, read, write, timeout) plus responses with status 400 or "
    'more. "of ceiling" is requests/s against the bare ASGI app serving the same list page on '
    "the same stack; starlette-route and fastapi-route serve those bytes from one route of a "
    "bare Starlette and a bare FastAPI app: what the frameworks alone cost. CPU is a share of "
    "one core over the timed runs: the server's processes, PostgreSQL's backends for the bench "
    "database, wrk; \"others\" is what else ran on the server's and on wrk's pinned CPUs "
    "(PostgreSQL, the kernel, other users of a shared machine): the noise under a figure."
)


def _ms(result: ScenarioResult, value: float) -> str:
    # No response completed (e.g. a starved event loop): a latency of 0 would be a lie.
    return f"{value:,.2f}" if result.load.requests else "n/a"


def _row(report: Report, result: ScenarioResult) -> str:
    load, use = result.load, result.cpu
    return (
        f"| {result.name} | {result.summary} | {result.connections} | {load.rps:,.1f} | "
        f"{_ms(result, load.latency.p50)} | {_ms(result, load.latency.p99)} | {result.errors} | "
        f"{report.share(result):.1%} | {use.server:.0%} · {use.database:.0%} · {use.wrk:.0%} | "
        f"{use.others_on_server_cpus:.0%} · {use.others_on_client_cpus:.0%} |"
    )


def scenario_table(report: Report) -> list[str]:
    lines = [
        "| scenario | request | connections | requests/s | p50 ms | p99 ms | errors "
        "| of ceiling | CPU server · db · wrk | others on server · wrk CPU |",
        "|---|---|--:|--:|--:|--:|--:|--:|--:|--:|",
    ]
    measured = [report.ceiling, *report.references, *report.scenarios]
    return lines + [_row(report, r) for r in measured]


def background_notes(report: Report) -> list[str]:
    notes = []
    for result in report.scenarios:
        if result.background is not None:
            b = result.background
            notes.append(
                f"- `{result.name}`: the login load beside it ran at {b.rps:,.1f} requests/s "
                f"(p50 {b.latency.p50:,.1f} ms, p99 {b.latency.p99:,.1f} ms, "
                f"{b.errors} errors), counted in its errors."
            )
    return notes


def memory_table(title: str, processes: Iterable[Memory]) -> list[str]:
    lines = [
        f"| {title} | pid | peak RSS (VmHWM) MiB | RSS at end (VmRSS) MiB |",
        "|---|--:|--:|--:|",
    ]
    return lines + [
        f"| {m.role} | {m.pid} | {m.peak_kib / MIB:,.1f} | {m.current_kib / MIB:,.1f} |"
        for m in processes
    ]


def memory_trace(report: Report) -> list[str]:
    if not report.memory_by_scenario:
        return []
    cells = [
        f"{name} {max((m.current_kib for m in ms if m.role == 'worker'), default=0) / MIB:,.0f}"
        for name, ms in report.memory_by_scenario.items()
    ]
    return ["Largest worker RSS (MiB) after each scenario: " + ", ".join(cells) + "."]


def scale_table(points: list[ScalePoint]) -> list[str]:
    if not points:
        return []
    lines = [
        "| articles | users | scenario | requests/s | p50 ms | p99 ms | errors |",
        "|--:|--:|---|--:|--:|--:|--:|",
    ]
    for p in sorted(points, key=lambda p: (p.scenario, p.articles)):
        lines.append(
            f"| {p.articles:,} | {p.users:,} | {p.scenario} | {p.rps:,.1f} | "
            f"{p.p50_ms:,.2f} | {p.p99_ms:,.2f} | {p.errors} |"
        )
    return lines


def _environment(environment: dict[str, Any]) -> list[str]:
    lines = []
    for key, value in environment.items():
        if isinstance(value, dict):
            value = ", ".join(f"{k} {v}" for k, v in value.items()) or "none"
        lines.append(f"- {key.replace('_', ' ')}: {value}")
    return lines


def markdown(report: Report, chart: str | None) -> str:
    env, data = report.environment, report.dataset
    header = (
        f"{env['date']} · commit {env['commit']} · {data['articles']:,} articles, "
        f"{data['users']:,} users · {env['workers']} worker(s) · "
        f"{env['duration_s']} s per scenario"
    )
    parts = [
        "# Conduit benchmark",
        header,
        "\n".join(scenario_table(report)),
        LEGEND,
        "\n".join(background_notes(report)),
        "## Memory",
        "\n".join(memory_table("Conduit process", report.memory)),
        "\n".join(memory_trace(report)),
        "\n".join(memory_table("ceiling process", report.ceiling_memory)),
    ]
    if len({p.articles for p in report.scale}) > 1:
        parts += ["## First page against database size", "\n".join(scale_table(report.scale))]
    parts += ["## Environment", "\n".join(_environment({**env, "dataset": data}))]
    if chart:
        parts.append(f"![requests/s per scenario]({chart})")
    return "\n\n".join(p for p in parts if p) + "\n"


def chart(report: Report, path: Path) -> None:
    sizes = sorted({p.articles for p in report.scale})
    columns = 2 if len(sizes) > 1 else 1
    # The object API (no pyplot): no global state and no display needed, files only.
    figure = Figure(figsize=(7 * columns, 6))
    axes = figure.subplots(1, columns, squeeze=False)
    _throughput(axes[0][0], report)
    if columns == 2:
        _latency_by_size(axes[0][1], report.scale)
    figure.suptitle(
        f"Conduit · {report.environment['date']} · {report.environment['commit']}", fontsize=9
    )
    figure.tight_layout()
    figure.savefig(path, dpi=110)


def _throughput(ax: Axes, report: Report) -> None:
    results = [report.ceiling, *report.references, *report.scenarios]
    names = [r.name for r in results][::-1]
    values = [max(r.load.rps, 0.1) for r in results][::-1]
    grey = {report.ceiling.name, *(r.name for r in report.references)}
    colors = ["#999999" if n in grey else "#3b7dd8" for n in names]
    bars = ax.barh(names, values, color=colors)
    for bar, result in zip(bars, results[::-1], strict=True):
        label = f" {result.load.rps:,.0f}  ({report.share(result):.1%})"
        ax.text(bar.get_width(), bar.get_y() + bar.get_height() / 2, label, va="center", fontsize=8)
    ax.set_xscale("log")
    ax.set_xlim(0.5, max(values) * 30)  # room for the labels right of the longest bar
    ax.set_xlabel("requests/s (log scale); share of the ceiling in brackets")
    ax.set_title(
        f"{report.dataset['articles']:,} articles, {report.environment['workers']} worker(s)"
    )


def _latency_by_size(ax: Axes, points: list[ScalePoint]) -> None:
    for scenario in sorted({p.scenario for p in points}):
        series = sorted((p.articles, p.p50_ms) for p in points if p.scenario == scenario)
        ax.plot([s for s, _ in series], [v for _, v in series], marker="o", label=scenario)
    ax.set_xscale("log")
    ax.set_xlabel("articles in the database (log scale)")
    ax.set_ylabel("p50 latency of the first page, ms")
    ax.set_ylim(bottom=0)
    ax.set_title("First page against database size")
    ax.legend(fontsize=8)
    ax.grid(visible=True, alpha=0.3)


def write(report: Report, folder: Path) -> tuple[Path, Path, Path]:
    folder.mkdir(parents=True, exist_ok=True)
    md, js, png = folder / "bench.md", folder / "bench.json", folder / "bench.png"
    chart(report, png)
    md.write_text(markdown(report, png.name), encoding="utf-8")
    js.write_text(json.dumps(report.to_json(), indent=2) + "\n", encoding="utf-8")
    return md, js, png
