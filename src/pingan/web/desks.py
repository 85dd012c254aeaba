"""The catalogue of the command centre's desks: the 14 systems of the bureau's report.

Each desk is one system of MISSION.md with the module that implements it. A desk
whose module is loaded shows that module's panel; one whose module is not loaded
shows a panel saying (in the reader's language) that it is not yet in service.

The names and purposes users see live in the message catalogue under
``desk.<key>.name`` and ``desk.<key>.purpose``.

A panel script is a JavaScript module in its desk's static folder, served at
``/static/<module>/<script>``. The page imports it and calls its exported
``mount(root, ctx)`` with the panel's body element and a context holding
``api(path, init)`` (fetch with the caller's token), ``t(key, params)``,
``lang()``, ``onLanguage(cb)``, ``onEvent(cb)`` (each feed event), ``map`` and ``L``
(the Leaflet map and library, for overlays).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from fastapi import APIRouter
from pydantic import BaseModel, Field

from pingan.core.auth.deps import require
from pingan.core.deps import Language
from pingan.core.i18n import translate
from pingan.core.module import Module
from pingan.web.feed import FEED_PERMISSION


@dataclass(frozen=True)
class Desk:
    """One system of the report (报告中的一项系统) as a desk of the command centre."""

    key: str
    number: int
    report_name: str
    """The report's own (Chinese) name of the system, for reference."""
    modules: tuple[str, ...]
    """Names of the modules that implement it (the first one loaded wins)."""
    hosted_by: str | None = None
    """A desk whose work is done inside another desk's module and panel (e.g. the 12345
    linkage and follow-ups live in the dispatch desk): in service when that module is."""

    @property
    def name_key(self) -> str:
        """Catalogue key of the desk's name."""
        return f"desk.{self.key}.name"

    @property
    def purpose_key(self) -> str:
        """Catalogue key of the desk's one-line purpose."""
        return f"desk.{self.key}.purpose"


DESKS: tuple[Desk, ...] = (
    Desk("dispatch", 1, "立体防控 + 秒级响应", ("dispatch",)),
    Desk("antifraud", 2, "共防365 + 预警劝阻快五条", ("antifraud",)),
    Desk("linkage", 3, "非警务警情联动 + 枫桥经验", ("linkage", "disputes"), hosted_by="dispatch"),
    Desk("duty", 4, "两队一室", ("duty", "rosters")),
    Desk("antidrug", 5, "禁毒社会化", ("antidrug",)),
    Desk("greenwave", 6, "数智绿波", ("traffic", "greenwave")),
    Desk("enterprise", 7, "警企E链通 + 帮企云", ("enterprise",)),
    Desk("sentinel", 8, "蓝海哨兵", ("sentinel", "overseas")),
    Desk("identity", 9, "温州身份证", ("identity",)),
    Desk("dataguard", 10, "数安港", ("dataguard", "dataproducts")),
    Desk("immigration", 11, "240小时过境免签 + 境外人员申报", ("immigration",)),
    Desk("fleet", 12, "无人机集群 + 机器战友", ("fleet", "drones")),
    Desk("autoservice", 13, "RPA+AI 数智警员", ("autoservice", "rpa")),
    Desk("report", 14, "平安答卷", ("report", "kpi")),
)
"""The 14 systems, in the report's order."""


class DeskRead(BaseModel):
    """A desk as the page shows it."""

    key: str = Field(description="Stable desk key, e.g. `dispatch`.")
    number: int = Field(description="The system's number in the report (1-14); 0 for extras.")
    report_name: str = Field(description="The report's own name of the system.")
    name: str = Field(description="The desk's name in the caller's language.")
    purpose: str = Field(description="One line on what the desk does, in the caller's language.")
    name_key: str = Field(description="Catalogue key of the name (the page re-translates).")
    purpose_key: str = Field(description="Catalogue key of the purpose.")
    module: str | None = Field(description="The loaded module implementing the desk, if any.")
    active: bool = Field(description="Whether the desk is in service on this platform.")
    panel_script: str | None = Field(description="URL of the desk's panel script, if any.")
    panel_order: int = Field(description="Where the panel sits on the page (lower first).")
    hosted_by: str | None = Field(
        default=None, description="The desk whose panel does this desk's work, if another's."
    )


def panel_url(module: Module) -> str | None:
    """The URL of ``module``'s panel script, or None when it has no panel."""
    if module.panel is None:
        return None
    return f"/static/{module.name}/{module.panel.script.lstrip('/')}"


def catalogue(modules: Iterable[Module], lang: str) -> list[DeskRead]:
    """Every desk with its ``active`` flag, then the panels of modules that are no desk."""
    loaded = {m.name: m for m in modules}
    claimed: set[str] = set()
    out: list[DeskRead] = []
    for desk in DESKS:
        module = next((loaded[n] for n in desk.modules if n in loaded), None)
        if module is not None:
            claimed.add(module.name)
        host = loaded.get(desk.hosted_by) if module is None and desk.hosted_by else None
        out.append(
            DeskRead(
                key=desk.key,
                number=desk.number,
                report_name=desk.report_name,
                name=translate(desk.name_key, lang),
                purpose=translate(desk.purpose_key, lang),
                name_key=desk.name_key,
                purpose_key=desk.purpose_key,
                module=module.name if module else (host.name if host else None),
                active=module is not None or host is not None,
                panel_script=panel_url(module) if module else None,
                panel_order=module.panel.order if module and module.panel else desk.number * 10,
                hosted_by=host.name if host else None,
            )
        )
    # Platform modules (city model, audit...) may bring a panel of their own.
    for module in loaded.values():
        if module.name in claimed or module.panel is None:
            continue
        name_key = f"{module.name}.panel.title"
        out.append(
            DeskRead(
                key=module.name,
                number=0,
                report_name="",
                name=translate(name_key, lang),
                purpose=translate(f"{module.name}.panel.purpose", lang),
                name_key=name_key,
                purpose_key=f"{module.name}.panel.purpose",
                module=module.name,
                active=True,
                panel_script=panel_url(module),
                panel_order=module.panel.order,
            )
        )
    return out


def desks_router(modules: Sequence[Module]) -> APIRouter:
    """Routes of the desk catalogue (mounted under ``/api``)."""
    router = APIRouter(prefix="/desks", tags=["desks"])

    @router.get(
        "",
        response_model=list[DeskRead],
        summary="The desks of the command centre",
        dependencies=[require(FEED_PERMISSION)],
        responses={
            401: {"description": "Missing, invalid or expired token"},
            403: {"description": "Not staff"},
        },
    )
    def list_desks(lang: Language) -> list[DeskRead]:
        """The 14 systems with whether each is in service and its panel's script."""
        return catalogue(modules, lang)

    return router
