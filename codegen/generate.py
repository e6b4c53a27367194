"""Regenerate generated/ from the contract: `make generate` runs this with the codegen tool venv.

1. fastapi-code-generator renders every template in codegen/templates with the project visitor
   (codegen/visitor.py): __init__, fields, interfaces, routes, app, manifest.
2. datamodel-code-generator writes models.py from the contract's component schemas, replacing
   the models fastapi-code-generator wrote (its CLI cannot make them strict). Two options depend
   on the contract and are computed here:
   - `--type-overrides`: every `format: date-time` becomes `generated.fields.UtcTimestamp`;
   - `--validators`: every optional property whose schema does not allow null gets
     `generated.fields.reject_null`, so an explicit null is a 422 as the contract says.

The output directory is deleted first: the generators never delete stale files. Run from the
repository root (the formatters read their settings from the nearest pyproject.toml).
"""

from __future__ import annotations

import argparse
import json
import keyword
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
CODEGEN = ROOT / "codegen"
PACKAGE = "generated"  # import name of the output, whatever directory it is written to
TIMESTAMP_TYPE = f"{PACKAGE}.fields.UtcTimestamp"
REJECT_NULL = f"{PACKAGE}.fields.reject_null"
PYTHON_VERSION = "3.11"

MODEL_OPTIONS = [
    "--input-file-type=openapi",
    "--openapi-scopes=schemas",  # models come from components only, named as the components
    "--output-model-type=pydantic_v2.BaseModel",
    f"--target-python-version={PYTHON_VERSION}",
    "--use-annotated",  # constraints as Annotated[..., Field(...)], which mypy understands
    "--use-type-alias",  # named scalar schemas (Username, TagName, ...) as aliases, not RootModels
    "--strict-types",  # no lax coercion: "1" is not an int, 1 is not a str, "true" not a bool
    "str",
    "int",
    "bool",
    "--output-datetime-class=AwareDatetime",
    "--enum-field-as-literal=none",  # enums stay StrEnum classes
    "--capitalise-enum-members",  # members cannot shadow str methods (`title`)
    "--use-standard-collections",
    "--use-union-operator",
    "--formatters",
    "black",
    "isort",
    "--disable-timestamp",
]


class ContractError(Exception):
    """The contract uses a shape the model options below cannot cover."""


def _resolve(doc: dict[str, Any], schema: Any) -> Any:
    while isinstance(schema, dict) and "$ref" in schema:
        target: Any = doc
        for part in schema["$ref"].removeprefix("#/").split("/"):
            target = target[part]
        schema = target
    return schema


def _types(schema: dict[str, Any]) -> set[str]:
    declared = schema.get("type")
    return set(declared) if isinstance(declared, list) else {declared} if declared else set()


def _allows_null(doc: dict[str, Any], schema: Any) -> bool:
    schema = _resolve(doc, schema)
    if not isinstance(schema, dict):
        return schema is True
    if (
        "null" in _types(schema)
        or schema.get("nullable") is True
        or None in schema.get("enum", [1])
    ):
        return True
    return any(_allows_null(doc, s) for s in [*schema.get("anyOf", []), *schema.get("oneOf", [])])


def _is_timestamp(doc: dict[str, Any], schema: Any, where: str) -> bool:
    schema = _resolve(doc, schema)
    if not isinstance(schema, dict) or schema.get("format") != "date-time":
        return False
    if _types(schema) != {"string"}:
        raise ContractError(f"{where}: date-time must be `type: string` (not nullable)")
    return True


def model_overrides(doc: dict[str, Any]) -> tuple[dict[str, str], dict[str, Any]]:
    """(--type-overrides, --validators) for the contract's component schemas."""
    type_overrides: dict[str, str] = {}
    validators: dict[str, Any] = {}
    schemas: dict[str, Any] = doc.get("components", {}).get("schemas", {})
    for name, schema in schemas.items():
        if _is_timestamp(doc, schema, name):
            type_overrides[name] = TIMESTAMP_TYPE
        if not isinstance(schema, dict) or "$ref" in schema:
            continue
        required = set(schema.get("required", []))
        non_nullable_optional: list[str] = []
        for prop, prop_schema in schema.get("properties", {}).items():
            where = f"{name}.{prop}"
            if not prop.isidentifier() or keyword.iskeyword(prop) or prop.startswith("_"):
                raise ContractError(f"{where}: property names must be Python identifiers")
            if "$ref" not in prop_schema and _is_timestamp(doc, prop_schema, where):
                type_overrides[where] = TIMESTAMP_TYPE
            items = (
                _resolve(doc, prop_schema).get("items") if isinstance(prop_schema, dict) else None
            )
            if items is not None and _is_timestamp(doc, items, f"{where}[]"):
                raise ContractError(f"{where}: arrays of date-time are not supported")
            if prop not in required and not _allows_null(doc, prop_schema):
                non_nullable_optional.append(prop)
        if non_nullable_optional:
            validators[name] = {
                "validators": [
                    {"fields": non_nullable_optional, "function": REJECT_NULL, "mode": "before"}
                ]
            }
    return type_overrides, validators


def _run(tool: str, *args: str) -> None:
    """Run a console script of the tool venv this driver runs in."""
    command = [str(Path(sys.executable).parent / tool), *args]
    # datamodel-code-generator warns that its default formatters will change; the formatters
    # are passed explicitly wherever this project can reach the option.
    env = {**os.environ, "PYTHONWARNINGS": "ignore::FutureWarning"}
    subprocess.run(command, check=True, env=env)  # noqa: S603 - fixed tools, project paths


def generate(contract: Path, output: Path) -> None:
    doc = yaml.safe_load(contract.read_text(encoding="utf-8"))
    type_overrides, validators = model_overrides(doc)
    if output.exists():
        shutil.rmtree(output)
    _run(
        "fastapi-codegen",
        f"--input={contract}",
        f"--output={output}",
        f"--template-dir={CODEGEN / 'templates'}",
        f"--custom-visitor={CODEGEN / 'visitor.py'}",
        f"--python-version={PYTHON_VERSION}",
        "--disable-timestamp",
    )
    models = output / "models.py"  # replaces the one fastapi-codegen wrote
    _run(
        "datamodel-codegen",
        f"--input={contract}",
        f"--output={models}",
        *MODEL_OPTIONS,
        f"--type-overrides={json.dumps(type_overrides, sort_keys=True)}",
        f"--validators={json.dumps(validators, sort_keys=True)}",
    )
    text = models.read_text(encoding="utf-8")
    if re.search(r"\bAwareDatetime\b|^from datetime import", text, re.MULTILINE):
        raise ContractError("models.py has a date-time not typed as UtcTimestamp")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--contract", type=Path, default=Path("openapi/conduit.yaml"))
    parser.add_argument("--output", type=Path, default=Path(PACKAGE))
    args = parser.parse_args()
    if Path.cwd().resolve() != ROOT:
        sys.exit(f"run from the repository root ({ROOT}): formatter settings are read from there")
    try:
        generate(args.contract, args.output)
    except ContractError as exc:
        sys.exit(f"generate: {exc}")
    except subprocess.CalledProcessError as exc:
        sys.exit(f"generate: {Path(exc.cmd[0]).name} failed (exit {exc.returncode})")


if __name__ == "__main__":
    main()
