"""Every page of the app, in menu order: the overview, then each experiment as it declares itself
(core.registry), so the menu, the home cards and the tests share one list."""

from __future__ import annotations

from dataclasses import dataclass

from core import registry
from core.contract import Experiment


@dataclass(frozen=True)
class Home:
    """The overview page: the one page that is not an experiment."""

    page: str = "app_pages/home.py"
    title: str = "Overview"
    name: str = "home"
    icon: str = ":material/home:"


HOME = Home()


def phenomena() -> list[Experiment]:
    """The phenomenon pages in menu order."""
    return registry.experiments()
