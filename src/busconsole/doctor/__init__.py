"""The bus doctor: the framework's best practices checked on recorded or live traffic.

``diagnose(store, picked, thresholds)`` runs every check of :data:`CHECKS` over a store
(the same store and picked indices ``--stats`` summarises, so ``--doctor --filter`` and the
TUI agree) and returns a :class:`Report`: findings most severe first, and the per-frame
:class:`Marks` that ``is:leak``, ``is:dupsub``, ``is:retry`` and ``is:repeat`` read.
Pure Python: no Textual, sockets or typer.
"""

from busconsole.doctor.checks import diagnose
from busconsole.doctor.marks import Marks
from busconsole.doctor.model import (
    CHECK_BY_ID,
    CHECKS,
    SEVERITY_RANK,
    CheckDef,
    Finding,
    Report,
    Severity,
    Thresholds,
    thresholds_from,
)
from busconsole.doctor.report import checks_markdown, reaches, text_lines, to_json

__all__ = ["CHECKS", "CHECK_BY_ID", "SEVERITY_RANK", "CheckDef", "Finding", "Marks", "Report", "Severity",
           "Thresholds", "checks_markdown", "diagnose", "reaches", "text_lines", "thresholds_from", "to_json"]
