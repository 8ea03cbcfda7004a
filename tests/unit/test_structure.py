"""The structure, drawn from the source (no import of the product, no AWS): the import graph of
chalicelib (+ app.py) has no cycle, and services say what happens while the store says how
(no pynamodb, no model attribute expressions, no raw AWS clients in chalicelib/services)."""

from __future__ import annotations

import ast
import functools
import sys
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "chalicelib"


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _sources() -> dict[str, Path]:
    found = {_module_name(path): path for path in PACKAGE.rglob("*.py")}
    found["app"] = ROOT / "app.py"
    return found


@functools.cache
def _tree(path: Path) -> ast.Module:
    return ast.parse(path.read_text(), str(path))


def _imported(module: str, path: Path, known: set[str]) -> Iterator[str]:
    """The product modules `module` imports, anywhere in its body (a function-local import is
    still an edge: it only hides the cycle until run time)."""
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    for node in ast.walk(_tree(path)):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            names = [f"{base}.{alias.name}" for alias in node.names] + [base]
        for name in names:
            # the longest known module the name refers to (a module or a name inside one)
            while name and name not in known:
                name = name.rpartition(".")[0]
            # a module's own packages are imported before it anyway: no edge worth drawing
            if name and name != module and not module.startswith(name + "."):
                yield name


@functools.cache
def import_graph() -> dict[str, set[str]]:
    sources = _sources()
    known = set(sources)
    return {module: set(_imported(module, path, known)) for module, path in sources.items()}


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in sorted(graph.get(node, ())):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_the_import_graph_has_no_cycle() -> None:
    graph = import_graph()
    assert len(graph) > 50  # the whole package was read
    assert cycles(graph) == [], "import cycles (each line one cycle's modules)"


def test_services_take_no_input_models_from_the_api() -> None:
    graph = import_graph()
    leaks = {module: sorted(target for target in targets if target.startswith("chalicelib.api"))
             for module, targets in graph.items()
             if module.startswith(("chalicelib.services", "chalicelib.store",
                                   "chalicelib.domain", "chalicelib.messaging"))}
    assert {module: api for module, api in leaks.items() if api} == {}


def test_the_cycle_finder_finds_a_cycle() -> None:
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


# --- the store is sealed -------------------------------------------------------------------

EXPRESSION_METHODS = {
    # update actions
    "set", "add", "remove", "delete", "append", "prepend",
    # conditions
    "exists", "does_not_exist", "is_type", "is_in", "between", "startswith", "contains",
}


def _is_model_path(node: ast.expr) -> bool:
    """`SomethingModel.attribute` (or deeper: `Model.upload.upload_id`)."""
    while isinstance(node, ast.Attribute):
        if isinstance(node.value, ast.Name) and node.value.id.endswith("Model"):
            return True
        node = node.value
    return False


def _model_attribute(node: ast.expr) -> bool:
    """`XModel.attr` or `getattr(XModel, name)`: an attribute path of a model class."""
    if isinstance(node, ast.Attribute):
        return _is_model_path(node)
    return (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
            and node.func.id == "getattr" and bool(node.args)
            and isinstance(node.args[0], ast.Name) and node.args[0].id.endswith("Model"))


def store_leaks(source: str, filename: str) -> list[str]:
    """What a service module does that is the store's business, one line each."""
    leaks = []
    for node in ast.walk(ast.parse(source, filename)):
        line = f"{filename}:{getattr(node, 'lineno', 0)}"
        if isinstance(node, ast.Import | ast.ImportFrom):
            modules = ([alias.name for alias in node.names] if isinstance(node, ast.Import)
                       else [node.module or ""])
            for module in modules:
                if module.split(".")[0] in {"pynamodb", "boto3", "botocore"}:
                    leaks.append(f"{line} imports {module}")
        elif isinstance(node, ast.Call):
            func = node.func
            if (isinstance(func, ast.Attribute) and func.attr in EXPRESSION_METHODS
                    and _model_attribute(func.value)):
                leaks.append(f"{line} model attribute expression .{func.attr}()")
            if (isinstance(func, ast.Attribute) and func.attr == "client" and node.args
                    and isinstance(node.args[0], ast.Constant)
                    and node.args[0].value == "dynamodb"):
                leaks.append(f"{line} raw DynamoDB client")
            for keyword in node.keywords:
                if keyword.arg in {"condition", "actions"}:
                    leaks.append(f"{line} {keyword.arg}= passed from a service")
        elif isinstance(node, ast.Compare) and any(
                _model_attribute(part) for part in [node.left, *node.comparators]):
            leaks.append(f"{line} model attribute condition")
    return leaks


def test_services_leave_the_how_to_the_store() -> None:
    leaks = []
    for path in sorted((PACKAGE / "services").glob("*.py")):
        leaks += store_leaks(path.read_text(), str(path.relative_to(ROOT)))
    assert leaks == []


def test_the_store_check_sees_what_it_looks_for() -> None:
    source = """
import pynamodb.attributes
from boto3 import client
def f(campaign):
    campaigns.update(campaign, [CampaignModel.status.set("X"), CampaignModel.upload.remove()],
                     CampaignModel.status == "DRAFT")
    getattr(CampaignModel, name).set(1)
    aws.client("dynamodb").scan(TableName="T")
    campaign.update(actions=[], condition=None)
"""
    kinds = sorted(leak.split(" ", 1)[1] for leak in store_leaks(source, "x.py"))
    assert kinds == sorted([
        "imports pynamodb.attributes", "imports boto3",
        "model attribute expression .set()", "model attribute expression .remove()",
        "model attribute condition", "model attribute expression .set()",
        "raw DynamoDB client", "actions= passed from a service",
        "condition= passed from a service",
    ])


def test_no_model_declares_an_attribute_twice() -> None:
    twice = []
    for path in sorted((PACKAGE / "store").glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if not isinstance(node, ast.ClassDef):
                continue
            seen: set[str] = set()
            for statement in node.body:
                names = [target.id for target in getattr(statement, "targets", [])
                         if isinstance(target, ast.Name)]
                twice += [f"{path.name} {node.name}.{name}" for name in names if name in seen]
                seen.update(names)
    assert twice == []


def test_each_resource_is_defined_in_one_fragment() -> None:
    """infra/resources/*.yaml are merged into one template: a resource defined (with its Type)
    in two fragments is merged silently, key by key, and the two definitions drift apart.
    Fragments without a Type are overlays of what chalice generates (e.g. RestAPI)."""
    import yaml

    where: dict[str, list[str]] = {}
    for path in sorted((ROOT / "infra" / "resources").glob("*.yaml")):
        loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
        resources = (yaml.load(path.read_text(), Loader=loader) or {}).get("Resources", {})
        for name, resource in resources.items():
            if "Type" in resource:
                where.setdefault(name, []).append(path.name)
    assert {name: files for name, files in where.items() if len(files) > 1} == {}


def test_no_module_is_named_like_a_standard_library_one() -> None:
    # `chalicelib/logging.py` once shadowed `logging` for anyone reading an import; `token`,
    # `secrets`, `queue`... would do the same.
    shadowing = sorted(str(path.relative_to(ROOT))
                       for folder in ("chalicelib", "local", "ops", "infra")
                       for path in (ROOT / folder).rglob("*.py")
                       if path.stem in sys.stdlib_module_names)
    assert shadowing == []
