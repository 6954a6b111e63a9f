"""What a fresh machine installs is what the app imports: a package imported by the app but absent
from requirements.txt works on a development machine (where it happens to be installed) and fails
on Streamlit Community Cloud at the first import."""

from __future__ import annotations

import ast
import importlib.metadata
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
APP_SOURCES = [ROOT / "app.py", *sorted((ROOT / "core").rglob("*.py")), *sorted((ROOT / "ui").rglob("*.py")),
               *sorted((ROOT / "app_pages").rglob("*.py"))]
#: Imported only where an optional extra is installed (requirements-cluster.txt), never at app start.
OPTIONAL = {"ray", "pyarrow"}


def imported_top_levels(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            names |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
    return names


def pinned(requirements: Path) -> dict[str, str]:
    """Distribution name (normalised) -> version, for every `name==version` line."""
    pins = {}
    for line in requirements.read_text().splitlines():
        match = re.match(r"\s*([A-Za-z0-9_.-]+)==([^\s#;]+)", line)
        if match:
            pins[re.sub(r"[-_.]+", "-", match[1]).lower()] = match[2]
    return pins


def test_every_third_party_import_is_pinned_in_requirements() -> None:
    local = {"core", "ui", "app_pages", "app"}
    third_party = set().union(*map(imported_top_levels, APP_SOURCES)) - set(sys.stdlib_module_names) - local - OPTIONAL
    distributions = importlib.metadata.packages_distributions()
    pins = pinned(ROOT / "requirements.txt")
    missing = []
    for module in sorted(third_party):
        names = {re.sub(r"[-_.]+", "-", d).lower() for d in distributions.get(module, [module])}
        if not names & pins.keys():
            missing.append(f"{module} (distribution {', '.join(sorted(names))})")
    assert not missing, f"imported by the app but not pinned in requirements.txt: {missing}"


def test_torch_is_pinned_to_the_cpu_wheel_on_disk() -> None:
    """A looser torch pin pulls a multi-GB CUDA build on a fresh machine."""
    assert pinned(ROOT / "requirements.txt")["torch"] == "2.13.0"
