"""The core stays the core: `bot/` imports no chat platform and nothing from the layers above it."""

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ABOVE_THE_CORE = ("support", "adapters", "service", "telegram", "slack_bolt", "slack_sdk", "starlette", "uvicorn", "sqlalchemy")


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def test_the_core_imports_nothing_above_it():
    offenders = {
        f"{path.relative_to(ROOT)} imports {name}"
        for path in (ROOT / "bot").rglob("*.py")
        for name in imported_modules(path)
        if name.split(".")[0] in ABOVE_THE_CORE
    }
    assert not offenders, sorted(offenders)
