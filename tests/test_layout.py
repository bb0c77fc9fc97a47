"""The package's shape, read from its source: no import circle, the command-line layer on top, the
frameworks behind the engines only, and rooms that hold one idea (a guide of 400 lines)."""
import ast
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src"
PACKAGE = "sanity_checks"
#: The modules that may import a framework (TensorFlow, tf-slim, Keras, torch), the TensorFlow shim or the
#: TensorFlow engine: the engines, what is made of graphs and sessions by nature (training, our quick
#: models, parameter-space saliency), the loader that dispatches to the engines, and the command line.
ENGINE_MODULES = ("compat", "model", "models", "keras", "engines.tf_", "engines.pytorch", "train", "demo", "imagenet",
                  "loading", "parameter_saliency.profile", "runs.threads", "cli")
FRAMEWORKS = ("tensorflow", "tf_slim", "tf_keras", "keras", "torch", "saliency.tf1")
MAX_LINES = 400


def modules():
    """{module name: path} of every module of the package."""
    out = {}
    for path in sorted((SRC / PACKAGE).rglob("*.py")):
        parts = list(path.relative_to(SRC).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        out[".".join(parts)] = path
    return out


def imports(name, path):
    """Every module name ``name`` imports, at the top or inside functions (absolute, resolved)."""
    is_package = path.name == "__init__.py"
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = name.split(".")
                base = base[:len(base) - node.level + (1 if is_package else 0)]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module
            found.update(f"{target}.{alias.name}" for alias in node.names)
            found.add(target)
    return found


def graph():
    """{module: the package's modules it imports}. ``from package import module`` counts as importing that
    module only (Python runs a package's __init__ before any of its modules anyway)."""
    mods = modules()
    edges = {}
    for name, path in mods.items():
        found = {m for m in imports(name, path) if m in mods and m != name}
        edges[name] = {m for m in found if not any(other.startswith(m + ".") for other in found)}
    return edges


def cycles(edges):
    """The strongly connected components of more than one module (Tarjan)."""
    index, low, stack, on_stack, found = {}, {}, [], set(), []

    def visit(v):
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in edges[v]:
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

    for v in edges:
        if v not in index:
            visit(v)
    return found


def local(name):
    return name[len(PACKAGE) + 1:]


def test_the_cycle_finder_finds_a_cycle():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_the_package_has_no_import_circle():
    assert cycles(graph()) == []


def test_no_library_module_imports_the_command_line_layer():
    offenders = {name: sorted(m for m in targets if local(m).startswith("cli"))
                 for name, targets in graph().items() if not local(name).startswith("cli")}
    assert {k: v for k, v in offenders.items() if v} == {}


def test_frameworks_are_imported_by_the_engines_only():
    offenders = {}
    for name, path in modules().items():
        if local(name).startswith(ENGINE_MODULES):
            continue
        bad = sorted(m for m in imports(name, path)
                     if m.split(".")[0] in FRAMEWORKS or m.startswith(FRAMEWORKS)
                     or m in (f"{PACKAGE}.compat", f"{PACKAGE}.model") or local(m).startswith("engines.tf_"))
        if bad:
            offenders[name] = bad
    assert offenders == {}


def test_no_module_is_a_room_of_several_ideas():
    sizes = {str(path.relative_to(SRC)): len(path.read_text().splitlines()) for path in modules().values()}
    assert {path: n for path, n in sizes.items() if n > MAX_LINES} == {}


def test_every_module_imports_first():
    """Each module imported before any other of the package (as a user's script may): an import circle
    through a package's ``__init__`` (which the graph above does not follow) fails here. One process, the
    package's modules dropped from ``sys.modules`` before each (the frameworks stay, so it is quick)."""
    import subprocess
    import sys
    code = ("import importlib, sys\n"
            f"sys.path[:0] = [{str(SRC)!r}, {str(Path(__file__).parent)!r}]\n"
            "from test_layout import modules\n"
            "for name in modules():\n"
            "    for m in [m for m in sys.modules if m == 'sanity_checks' or m.startswith('sanity_checks.')]:\n"
            "        del sys.modules[m]\n"
            "    try:\n"
            "        importlib.import_module(name)\n"
            "    except Exception as e:\n"
            "        print(f'{name}: {type(e).__name__}: {e}')\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout == ""
