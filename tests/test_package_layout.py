"""The package as installed: every subpackage of the source tree shipped, typing files included, and
no import cycle between greymatter's modules (a module that needs the package while the package
needs it half-built)."""
import ast
import importlib.metadata
import importlib.util
from pathlib import Path


import greymatter

SOURCE = Path(__file__).resolve().parent.parent / "python" / "greymatter"
INSTALLED = Path(greymatter.__file__).resolve().parent


def _installed_files():
    files = importlib.metadata.files("greymatter") or []
    return {str(f).replace("\\", "/") for f in files}


def test_the_installed_distribution_ships_every_subpackage():
    packages = sorted(
        p.parent.relative_to(SOURCE.parent).as_posix() for p in SOURCE.rglob("__init__.py")
    )
    assert len(packages) >= 6  # greymatter, cli, models, plots, sweep, train
    shipped = _installed_files()
    missing = [p for p in packages if f"{p}/__init__.py" not in shipped]
    assert missing == [], f"subpackages left out of the installed wheel: {missing}"


def test_the_installed_distribution_ships_its_type_information():
    shipped = _installed_files()
    assert "greymatter/py.typed" in shipped
    # The extension's stub, beside the extension it types (tests/test_core_stub.py checks its
    # content).
    assert "greymatter/_core.pyi" in shipped
    assert any(f.startswith("greymatter/_core") and f.endswith(".so") for f in shipped)


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(INSTALLED.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _is_module(name: str) -> bool:
    try:
        return importlib.util.find_spec(name) is not None
    except ModuleNotFoundError:
        return False


def _imports(path: Path):
    """The greymatter modules `path` imports, anywhere in it (functions included)."""
    name = _module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.split(".")[0] == "greymatter")
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                target = f"{base}.{node.module}" if node.module else base
            elif (node.module or "").split(".")[0] == "greymatter":
                target = node.module
            else:
                continue
            # `from pkg import sub` imports the submodule; `from mod import name` imports mod.
            subs = [f"{target}.{a.name}" for a in node.names if _is_module(f"{target}.{a.name}")]
            found.update(subs or [target])
    return {m for m in found if m != name}


def _find_cycle(graph):
    """The first import cycle found in `graph` (module -> modules it imports) as a list ending where
    it started, or None."""
    state = {}  # module -> "visiting" | "done"

    def visit(module, trail):
        if state.get(module) == "done" or module not in graph:
            return None
        if state.get(module) == "visiting":
            return trail[trail.index(module) :] + [module]
        state[module] = "visiting"
        for dep in sorted(graph[module]):
            cycle = visit(dep, trail + [module])
            if cycle:
                return cycle
        state[module] = "done"
        return None

    for module in sorted(graph):
        cycle = visit(module, [])
        if cycle:
            return cycle
    return None


def test_greymatter_modules_import_each_other_without_a_cycle():
    graph = {_module_name(p): _imports(p) for p in INSTALLED.rglob("*.py")}
    # The walk sees real edges: relative imports of modules, of packages and of names.
    assert {"greymatter._core", "greymatter.train.progress", "greymatter.loader"} <= graph[
        "greymatter.train.trainer"
    ]
    assert "greymatter.models" in graph["greymatter.cli.inputs"]
    cycle = _find_cycle(graph)
    assert cycle is None, "import cycle: " + " -> ".join(cycle)


def test_the_cycle_finder_reports_a_package_imported_back_by_its_module():
    graph = {
        "greymatter": {"greymatter.a"},
        "greymatter.a": {"greymatter.b"},
        "greymatter.b": {"greymatter"},
    }
    assert _find_cycle(graph) == ["greymatter", "greymatter.a", "greymatter.b", "greymatter"]
    assert _find_cycle({"greymatter": {"greymatter.a"}, "greymatter.a": set()}) is None
