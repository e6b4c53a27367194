"""The designer's loop, end to end, on a copy of the project.

Edit the contract (a new operation) → `make generate`'s generator → the app refuses to start and
names the operation to implement → implement it in the tag's binding → the app starts and the
contract suite passes for the new operation. Everything runs in subprocesses whose import path
puts the copy first, so the project's own tree is never touched.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
CODEGEN_PYTHON = ROOT / ".tools" / "codegen" / "bin" / "python"
COPIED = ("openapi", "codegen", "generated", "src", "tests", "pyproject.toml")
IGNORED = shutil.ignore_patterns("__pycache__", "node_modules", "*.pyc", "static")

NEW_OPERATION = {
    "get": {
        "operationId": "CountTags",
        "summary": "Count the tags in use",
        "tags": ["Tags"],
        "security": [],
        "responses": {
            "200": {
                "description": "How many tags are in use.",
                "content": {
                    "application/json": {
                        "schema": {"$ref": "#/components/schemas/TagCountResponse"},
                        "example": {"count": 2},
                    }
                },
            },
            "500": {"$ref": "#/components/responses/InternalError"},
        },
    }
}
NEW_SCHEMA = {
    "type": "object",
    "required": ["count"],
    "properties": {"count": {"type": "integer", "minimum": 0}},
}
IMPLEMENTATION = """
    async def count_tags(self) -> models.TagCountResponse:
        return models.TagCountResponse(count=len(await self._service.list_tags()))
"""
START_APP = (
    "from conduit.core.settings import Settings\n"
    "from conduit.main import create_app\n"
    "create_app(Settings())\n"
    "print('started')\n"
)

pytestmark = pytest.mark.skipif(
    not CODEGEN_PYTHON.exists() and os.environ.get("CI") != "true",
    reason="the generator's tool venv is missing: run `make generate` once",
)


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    copy = tmp_path_factory.mktemp("loop") / "conduit"
    copy.mkdir()
    for name in COPIED:
        source = ROOT / name
        if source.is_dir():
            shutil.copytree(source, copy / name, ignore=IGNORED)
        else:
            shutil.copy2(source, copy / name)
    return copy


def run(project: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = os.environ | {
        "PYTHONPATH": f"{project / 'src'}{os.pathsep}{project}",
        "CONDUIT_VAR_DIR": str(project / "var"),
    }
    env.pop("CONDUIT_DATABASE_URL", None)
    return subprocess.run(  # noqa: S603 - fixed argv built from this test's constants
        args, cwd=project, env=env, capture_output=True, text=True, timeout=300, check=False
    )


def add_operation(project: Path) -> None:
    contract_path = project / "openapi" / "conduit.yaml"
    contract = yaml.safe_load(contract_path.read_text(encoding="utf-8"))
    contract["paths"]["/tags/count"] = NEW_OPERATION
    contract["components"]["schemas"]["TagCountResponse"] = NEW_SCHEMA
    contract_path.write_text(yaml.safe_dump(contract, sort_keys=False), encoding="utf-8")


def implement(project: Path) -> None:
    binding = project / "src" / "conduit" / "api" / "tags.py"
    source = binding.read_text(encoding="utf-8")
    # The new method goes at the end of the Tags class, just before the module's provider.
    anchor = re.search(r"\n\n\n(async )?def provide\(", source)
    assert anchor is not None, "the Tags binding changed shape; update this test"
    at = anchor.start()
    binding.write_text(source[:at] + IMPLEMENTATION.rstrip() + source[at:], "utf-8")


def test_a_new_operation_goes_from_contract_to_passing_contract_tests(project: Path) -> None:
    add_operation(project)
    generated = run(
        project, str(CODEGEN_PYTHON), "codegen/generate.py",
        "--contract", "openapi/conduit.yaml", "--output", "generated",
    )  # fmt: skip
    assert generated.returncode == 0, generated.stderr
    assert "async def count_tags(self) -> TagCountResponse" in (
        project / "generated" / "interfaces.py"
    ).read_text(encoding="utf-8")

    refused = run(project, sys.executable, "-c", START_APP)
    assert refused.returncode != 0
    assert "TagsApi implementation Tags is missing CountTags (count_tags)" in refused.stderr

    implement(project)
    started = run(project, sys.executable, "-c", START_APP)
    assert started.returncode == 0, started.stderr
    assert started.stdout.strip() == "started"

    contract_tests = run(
        project, sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q",
        "tests/contract", "-k", "CountTags",
    )  # fmt: skip
    assert contract_tests.returncode == 0, contract_tests.stdout[-4000:]
    assert " passed" in contract_tests.stdout


@pytest.fixture
def pristine(tmp_path: Path) -> Path:
    """A copy of the project whose generator venv is the project's own (linked, not rebuilt)."""
    copy = tmp_path / "conduit"
    copy.mkdir()
    for name in (*COPIED, "Makefile"):
        source = ROOT / name
        if source.is_dir():
            shutil.copytree(source, copy / name, ignore=IGNORED)
        else:
            shutil.copy2(source, copy / name)
    (copy / ".tools").mkdir()
    (copy / ".tools" / "codegen").symlink_to(ROOT / ".tools" / "codegen")
    return copy


def drift_check(project: Path) -> subprocess.CompletedProcess[str]:
    return run(
        project, "make", "--no-print-directory", "-f", "codegen/generate.mk", "generate-check"
    )


class TestDriftCheck:
    """CI's `make generate-check` passes on the real tree and fails, with a diff, on drift."""

    def test_it_passes_when_generated_matches_the_contract(self, pristine: Path) -> None:
        result = drift_check(pristine)
        assert result.returncode == 0, result.stdout + result.stderr

    def test_a_hand_edit_fails_with_the_diff(self, pristine: Path) -> None:
        models = pristine / "generated" / "models.py"
        models.write_text(models.read_text(encoding="utf-8") + "\nHAND_EDIT = 1\n", "utf-8")
        result = drift_check(pristine)
        assert result.returncode != 0
        assert "+HAND_EDIT = 1" in result.stdout or "-HAND_EDIT = 1" in result.stdout
        assert "run 'make generate'" in result.stderr

    def test_a_stale_file_that_should_be_deleted_fails(self, pristine: Path) -> None:
        (pristine / "generated" / "stale.py").write_text("OLD = True\n", "utf-8")
        result = drift_check(pristine)
        assert result.returncode != 0
        assert "stale.py" in result.stdout

    def test_a_contract_change_without_regenerating_fails(self, pristine: Path) -> None:
        add_operation(pristine)
        result = drift_check(pristine)
        assert result.returncode != 0
        assert "count_tags" in result.stdout
