"""The layers: observability <- accounts <- billing <- upstream <- reseller <- reports. A lower layer never
imports a higher one (observability, the cross-cutting code, imports none of the apps).

Every module of a layer is read with `ast` (management commands, admin and migrations included), and
every `import`, `from ... import` and literal `import_module("...")` / `import_string("...")`
anywhere in it counts, at the top or inside a function.
"""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
LAYERS = ("observability", "accounts", "billing", "upstream", "reseller", "reports")  # lowest first
APPS = LAYERS[1:]  # the Django apps: each has management commands
DYNAMIC_IMPORTERS = {"import_module", "import_string"}


def imported_modules(source: str) -> list[tuple[int, str]]:
    """(line, module) of every import in `source`."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append((node.lineno, node.module))
        elif isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Constant):
            name = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", "")
            if name in DYNAMIC_IMPORTERS and isinstance(node.args[0].value, str):
                found.append((node.lineno, node.args[0].value))
    return found


def violations(root: Path, layers: tuple[str, ...] = LAYERS) -> list[str]:
    """`path:line imports module` for every import of a higher layer from a lower one under `root`."""
    found = []
    for rank, layer in enumerate(layers):
        higher = layers[rank + 1 :]
        for path in sorted((root / layer).rglob("*.py")):
            for line, module in imported_modules(path.read_text(encoding="utf-8")):
                if module.split(".")[0] in higher:
                    found.append(f"{path.relative_to(root)}:{line} imports {module}")
    return found


def test_no_layer_imports_a_higher_one():
    assert violations(ROOT) == []


@pytest.mark.parametrize("layer", APPS)
def test_every_layer_is_read_with_its_commands(layer):
    modules = list((ROOT / layer).rglob("*.py"))
    assert len(modules) > 5 and any("commands" in path.parts for path in modules)


def test_the_check_finds_every_kind_of_import(tmp_path):
    for layer in LAYERS:
        (tmp_path / layer / "management" / "commands").mkdir(parents=True)
    (tmp_path / "billing" / "management" / "commands" / "cmd.py").write_text("from upstream.models import Provider\n")
    (tmp_path / "billing" / "pricing.py").write_text(
        "import billing.models\n\ndef f():\n    import reseller.models\n    return 1\n"
    )
    (tmp_path / "upstream" / "tasks.py").write_text(
        "from django.utils.module_loading import import_string\n\nx = import_string('reseller.tasks.run')\n"
    )
    (tmp_path / "accounts" / "admin.py").write_text("import importlib\nimportlib.import_module('billing.admin')\n")
    (tmp_path / "reseller" / "views.py").write_text("from accounts.models import Customer\nimport upstream\n")
    assert violations(tmp_path) == [
        "accounts/admin.py:2 imports billing.admin",
        "billing/management/commands/cmd.py:1 imports upstream.models",
        "billing/pricing.py:4 imports reseller.models",
        "upstream/tasks.py:3 imports reseller.tasks.run",
    ]
