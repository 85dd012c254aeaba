"""Where desks plug their generators into the simulator.

A generator is a factory ``(sim) -> None`` that schedules its first events on
``sim.scheduler``; each event schedules the next (calls with a daily rhythm, fraud
signals, applications...). Desk generators live in :mod:`pingan.sim.generators` and
are listed in :data:`GENERATOR_PATHS`.
"""

from __future__ import annotations

from collections.abc import Callable
from importlib import import_module
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pingan.sim.runner import Simulation

GeneratorFactory = Callable[["Simulation"], None]

_generators: dict[str, GeneratorFactory] = {}

GENERATOR_PATHS: tuple[str, ...] = (
    "pingan.sim.generators.clock",
    "pingan.sim.generators.dispatch",
    "pingan.sim.generators.identity",
    "pingan.sim.generators.antifraud",
)
"""Modules whose import registers generators (each desk adds its own)."""


def register(name: str) -> Callable[[GeneratorFactory], GeneratorFactory]:
    """Decorator: register a generator factory under ``name``."""

    def deco(factory: GeneratorFactory) -> GeneratorFactory:
        if name in _generators and _generators[name] is not factory:
            raise ValueError(f"generator {name!r} is already registered")
        _generators[name] = factory
        return factory

    return deco


def generators() -> dict[str, GeneratorFactory]:
    """Every registered generator, after importing the modules that define them."""
    for path in GENERATOR_PATHS:
        import_module(path)
    return dict(_generators)
