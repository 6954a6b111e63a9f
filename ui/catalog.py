"""Every page of the app, in menu order: the overview, then each experiment as it declares itself
(core.registry), so the menu, the home cards and the tests share one list."""

from __future__ import annotations

from dataclasses import dataclass

from core import registry
from core.contract import Experiment


@dataclass(frozen=True)
class Home:
    """A page that is not an experiment: the overview, and the sweeps."""

    page: str = "app_pages/home.py"
    title: str = "Overview"
    name: str = "home"
    icon: str = ":material/home:"


HOME = Home()
#: Tables of many runs (python -m core sweep), after the phenomena in the menu.
SWEEPS = Home(page="app_pages/sweeps.py", title="Sweeps", name="sweeps", icon=":material/grid_view:")


def phenomena() -> list[Experiment]:
    """The phenomenon pages in menu order."""
    return registry.experiments()
