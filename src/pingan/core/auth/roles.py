"""The roles of the platform (DESIGN.md); desks grant permissions to them."""

from __future__ import annotations

from typing import Final

ADMIN: Final = "admin"
COMMANDER: Final = "commander"
DISPATCHER: Final = "dispatcher"
OFFICER: Final = "officer"
ANALYST: Final = "analyst"
DISSUASION: Final = "dissuasion"  # warning-dissuasion team member (预警劝阻专班)
CLERK: Final = "clerk"  # service-window clerk
AUDITOR: Final = "auditor"
PARTNER: Final = "partner"  # bank, relying party, linked department (API keys)
TRAFFIC: Final = "traffic"  # traffic engineer (交通工程师): green waves, signal plans

ALL_ROLES: Final = frozenset(
    {ADMIN, COMMANDER, DISPATCHER, OFFICER, ANALYST, DISSUASION, CLERK, AUDITOR, PARTNER, TRAFFIC}
)
STAFF_ROLES: Final = ALL_ROLES - {PARTNER}
"""Everyone who works for the bureau (partners excluded)."""

ROLE_LABELS: Final = {
    ADMIN: ("系统管理员", "Administrator"),
    COMMANDER: ("指挥长", "Commander"),
    DISPATCHER: ("调度员", "Dispatcher"),
    OFFICER: ("民警", "Officer"),
    ANALYST: ("分析研判员", "Analyst"),
    DISSUASION: ("预警劝阻专班队员", "Dissuasion team member"),
    CLERK: ("窗口民警", "Service clerk"),
    AUDITOR: ("审计员", "Auditor"),
    PARTNER: ("合作方", "Partner"),
    TRAFFIC: ("交通工程师", "Traffic engineer"),
}
