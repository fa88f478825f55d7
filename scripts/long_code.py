"""List product modules over 500 lines and functions over 60 lines that do not say why.

A module or function may be long when its docstring carries a line starting "Long because:" with
the reason (a table that reads best whole, a query that is one statement...). Everything else
over the limits is listed; ``tests/test_module_sizes.py`` fails while anything is listed.

    python scripts/long_code.py        # prints the offenders, exits 1 if there are any
    python scripts/long_code.py --all  # also the long ones that give a reason
"""

import ast
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PRODUCT = ("bot", "handlers", "scheduler", "storage")
# Migrations are generated and frozen; the demo kit lives in ``tryout/``, outside ``PRODUCT``.
NOT_PRODUCT = ("storage/migrations/",)
# Long code that may stay for now, with the reason, never silently: "path::function" -> why.
# Empty: prefer a split, or a "Long because:" line in the docstring where the length is the point.
WAIVED: dict[str, str] = {}
MODULE_LINES = 500
FUNCTION_LINES = 60
REASON = "Long because:"


@dataclass(frozen=True)
class Long:
    path: str
    name: str  # "" for the module itself
    lines: int
    limit: int
    reason: str | None

    def __str__(self) -> str:
        what = f"{self.path}::{self.name}" if self.name else self.path
        why = f" — {self.reason}" if self.reason else " — no reason given"
        return f"{what}: {self.lines} lines (limit {self.limit}){why}"


def _reason(node) -> str | None:
    """The text after "Long because:" in the docstring, to the end of its paragraph."""
    doc = ast.get_docstring(node) or ""
    _, found, rest = doc.partition(REASON)
    if not found:
        return None
    return " ".join(rest.split("\n\n", 1)[0].split()) or None


def long_code(root: Path = ROOT) -> list[Long]:
    """Every module and function over its limit, with the reason it gives (None: none)."""
    found = []
    for top in PRODUCT:
        for path in sorted((root / top).rglob("*.py")):
            rel = path.relative_to(root).as_posix()
            if rel.startswith(NOT_PRODUCT):
                continue
            source = path.read_text(encoding="utf-8")
            tree = ast.parse(source)
            n = len(source.splitlines())
            if n > MODULE_LINES:
                found.append(Long(rel, "", n, MODULE_LINES, _reason(tree)))
            found += _long_functions(rel, tree)
    return [_waived(x) for x in found]


def _waived(item: Long) -> Long:
    key = f"{item.path}::{item.name}" if item.name else item.path
    if item.reason is None and key in WAIVED:
        return Long(item.path, item.name, item.lines, item.limit, f"waived: {WAIVED[key]}")
    return item


def _long_functions(rel: str, tree: ast.Module) -> list[Long]:
    found = []

    def visit(node, prefix: str) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef):
                name = f"{prefix}{child.name}"
                start = min([child.lineno, *(d.lineno for d in child.decorator_list)])
                n = child.end_lineno - start + 1
                if n > FUNCTION_LINES:
                    found.append(Long(rel, name, n, FUNCTION_LINES, _reason(child)))
                visit(child, f"{name}.")
            elif isinstance(child, ast.ClassDef):
                visit(child, f"{prefix}{child.name}.")

    visit(tree, "")
    return found


def main(argv: list[str]) -> int:
    everything = long_code()
    offenders = [x for x in everything if x.reason is None]
    for item in everything if "--all" in argv else offenders:
        print(item)
    return 1 if offenders else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
