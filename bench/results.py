"""What a benchmark run found, as plain data (also written as var/reports/bench.json)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from bench.cpu import Usage
from bench.load import LoadResult
from bench.server import Memory


@dataclass(frozen=True, slots=True)
class ScenarioResult:
    name: str
    summary: str
    connections: int
    load: LoadResult  # the median run by requests/s
    runs_rps: tuple[float, ...]
    cpu: Usage  # during the timed runs
    background: LoadResult | None = None  # e.g. the login storm beside tags-during-login

    @property
    def errors(self) -> int:
        extra = self.background.errors if self.background else 0
        return self.load.errors + extra


@dataclass(frozen=True, slots=True)
class ScalePoint:
    articles: int
    users: int
    scenario: str
    rps: float
    p50_ms: float
    p99_ms: float
    errors: int


@dataclass(slots=True)
class Report:
    environment: dict[str, Any]
    dataset: dict[str, Any]
    ceiling: ScenarioResult
    scenarios: list[ScenarioResult]
    memory: list[Memory]  # the app's processes, at the end of the run (VmHWM = peak)
    ceiling_memory: list[Memory]
    memory_by_scenario: dict[str, list[Memory]] = field(default_factory=dict)
    scale: list[ScalePoint] = field(default_factory=list)
    # The same bytes through a bare Starlette route and a bare FastAPI route, same stack.
    references: list[ScenarioResult] = field(default_factory=list)

    def share(self, result: ScenarioResult) -> float:
        """Requests/s as a fraction of the ceiling's."""
        return result.load.rps / self.ceiling.load.rps if self.ceiling.load.rps else 0.0

    @property
    def failed(self) -> list[str]:
        main = self.dataset.get("articles")
        measured = [self.ceiling, *self.references, *self.scenarios]
        return [s.name for s in measured if s.errors] + [
            f"{p.scenario}@{p.articles}" for p in self.scale if p.errors and p.articles != main
        ]

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        for item in [data["ceiling"], *data["references"], *data["scenarios"]]:
            item["rps"] = item["load"]["requests"] / max(item["load"]["duration_s"], 1e-9)
        data["ceiling_share"] = {s.name: self.share(s) for s in [*self.references, *self.scenarios]}
        return data
