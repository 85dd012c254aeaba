"""The one list of what makes up the platform: core's own modules, the city model, the desks.

The web app, the CLI and the worker all assemble from here.
"""

from __future__ import annotations

from importlib import import_module

from pingan.core.i18n import register_catalogue
from pingan.core.module import Module

# Order matters only for the page (panels are sorted by their own order).
MODULE_PATHS: tuple[str, ...] = (
    "pingan.core.auth.module",
    "pingan.core.audit_module",
    "pingan.city",
    "pingan.dispatch",
    "pingan.identity",
    "pingan.antifraud",
    "pingan.traffic",
)


def load_modules() -> list[Module]:
    """Every module of the platform, with its message catalogue registered."""
    modules: list[Module] = []
    for path in MODULE_PATHS:
        module: Module = import_module(path).module()
        if module.locales_dir is not None:
            register_catalogue(module.locales_dir)
        modules.append(module)
    return modules
