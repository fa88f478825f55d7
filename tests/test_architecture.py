"""The import graph keeps the layers: data flows one way (edge -> service -> store -> outbox -> transport).

Every import is counted, including those inside functions (a lazy import is still a dependency).
Units are the folders (and top-level modules) of ``bot/``, plus ``handlers``, ``scheduler`` and
``storage``. The rules:

- ``storage`` imports nothing of ours; ``bot`` never imports ``handlers`` or ``scheduler``;
- no cycle between units of ``bot``: if A imports B, nothing B imports may import A;
- the product (``bot``, ``handlers``, ``scheduler``, ``storage``) never imports the demo kit
  (``tryout``): the kit imports the product and reaches it only through the hooks its process edges
  pass in (the ``attendance_bot.commands`` entry point, ``create_app(extra_edges=...)``).
"""

import ast
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OURS = ("bot", "handlers", "scheduler", "storage")


def _unit(module: str) -> str | None:
    parts = module.split(".")
    if parts[0] not in OURS:
        return None
    if parts[0] != "bot" or len(parts) == 1:
        return parts[0]
    return f"bot.{parts[1]}"


def _imports(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            if node.module == "bot":  # ``from bot import clock`` imports bot.clock
                found |= {f"bot.{alias.name}" for alias in node.names}
            else:
                found.add(node.module)
    return found


def graph() -> dict[str, set[str]]:
    edges: dict[str, set[str]] = defaultdict(set)
    for top in OURS:
        for path in (ROOT / top).rglob("*.py"):
            if "migrations" in path.parts:
                continue
            module = ".".join(path.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__")
            source = _unit(module)
            for target in filter(None, map(_unit, _imports(path))):
                if target != source and target != "bot":
                    edges[source].add(target)
    return edges


def _cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one unit (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in edges.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in list(edges):
        if v not in index:
            visit(v)
    return found


# The layers, lowest first, with the one rule each keeps (README, "Layers"). An import may go to its
# own layer or a lower one, never up. A unit not listed here fails the test: place it when adding it.
LAYERS: list[tuple[str, set[str]]] = [
    # Foundation: facts and tools every layer may use; they know nothing of the domains.
    (
        "foundation",
        {
            "storage",
            "bot.clock",
            "bot.settings",
            "bot.errors",
            "bot.shutdown",
            "bot.summary",
            "bot.codes",
            "bot.attendance",
            "bot.phones",
            "bot.policy",
            "bot.policy_values",
            "bot.calendar",
            "bot.typical_calendar",
            "bot.pupils",
            "bot.actors",
            "bot.templates",
            "bot.catalogs",
            "bot.runtime",
        },
    ),
    # Transports: deliver and record what happened; never decide what happens to a family.
    ("transport", {"bot.messaging", "bot.chat"}),
    # Records: the audited doors (marks, cases, alerts) every domain writes through.
    ("records", {"bot.cases", "bot.alerts", "bot.register"}),
    # Domains: one folder per job the bot does for a school.
    (
        "domains",
        {
            "bot.notices",
            "bot.replies",
            "bot.calls",
            "bot.escalation",
            "bot.reports",
            "bot.privacy",
            "bot.importing",
            "bot.letters",
            "bot.mail",
            "bot.thresholds",
            "bot.firstday",
            "bot.mis",
            "bot.commands",
            "bot.policy_admin",
        },
    ),
    # Assemblies: the explicit lists of jobs and CLI commands.
    ("assemblies", {"bot.jobs", "bot.cli"}),
    # Edges: read the clock once, verify, parse, call a service.
    ("edges", {"handlers", "scheduler"}),
]


def _layer_of(unit: str) -> int:
    for number, (_, units) in enumerate(LAYERS):
        if unit in units:
            return number
    raise AssertionError(f"{unit} is in no layer: add it to LAYERS in tests/test_architecture.py")


def upward_arrows(edges: dict[str, set[str]]) -> list[str]:
    return [
        f"{source} ({LAYERS[_layer_of(source)][0]}) imports {target} ({LAYERS[_layer_of(target)][0]})"
        for source, targets in sorted(edges.items())
        for target in sorted(targets)
        if _layer_of(target) > _layer_of(source)
    ]


def test_no_arrow_from_a_lower_layer_to_a_higher_one():
    upward = upward_arrows(graph())
    assert upward == [], "\n".join(upward)


def test_the_layer_check_finds_an_upward_arrow():
    """The sender deciding a family's next step (the knot issue 11 untied) would be caught."""
    edges = {"bot.messaging": {"storage", "bot.firstday"}, "bot.firstday": {"bot.messaging"}}
    assert upward_arrows(edges) == ["bot.messaging (transport) imports bot.firstday (domains)"]


def test_storage_imports_nothing_of_ours_and_bot_never_imports_the_edges():
    edges = graph()
    assert edges["storage"] == set(), edges["storage"]
    for unit, targets in edges.items():
        if unit.startswith("bot"):
            assert not targets & {"handlers", "scheduler"}, (unit, targets)


def test_no_import_cycle_between_the_folders_of_bot():
    edges = graph()
    bot_only = {u: {t for t in ts if t.startswith("bot.")} for u, ts in edges.items() if u.startswith("bot.")}
    assert _cycles(bot_only) == []


def _product_modules_importing(package: str) -> list[str]:
    found = []
    for top in OURS:
        for path in (ROOT / top).rglob("*.py"):
            if any(name == package or name.startswith(package + ".") for name in _imports(path)):
                found.append(str(path.relative_to(ROOT)))
    return found


def test_the_product_never_imports_the_demo_kit():
    assert _product_modules_importing("tryout") == []
    # The check can fail: the walk sees the kit's imports where they are allowed (the tests), and
    # the kit does import the product.
    assert "tryout.web" in _imports(ROOT / "tests" / "test_sandbox.py")
    assert "handlers.app" in _imports(ROOT / "tryout" / "web.py")


def test_the_cycle_check_finds_a_cycle():
    """The check itself can fail: a made-up graph with a loop is caught."""
    assert _cycles({"bot.a": {"bot.b"}, "bot.b": {"bot.c"}, "bot.c": {"bot.a"}, "bot.d": {"bot.a"}}) == [
        ["bot.a", "bot.b", "bot.c"]
    ]
