"""The scoring service's declaration: its API and who may call it, topics, tables and history."""

from __future__ import annotations

from shared.auth import Role
from shared.manifest import HistoryRules, Schedule, ServiceManifest

_DECISION = (
    "is a scoring decision and is not imported: grades are recomputed from the imported history; record "
    "overrides and credit repairs through the ScoringService API"
)

# Its events, keyed by USCC; other systems consume them.
TOPIC = "integrity.scoring.v1"

SERVICE = ServiceManifest(
    name="scoring",
    default_port=50054,
    api="integrity.scoring.v1.ScoringService",
    access={
        "GetGrade": (Role.SYSTEM, Role.REGULATOR, Role.INSPECTOR, Role.ENTERPRISE),
        "ListRiskEntries": (Role.SYSTEM, Role.REGULATOR, Role.INSPECTOR),
        "CreateCreditRepair": (Role.REGULATOR,),
        "CreateAppeal": (Role.ENTERPRISE,),
        "GetAppeal": (Role.SYSTEM, Role.REGULATOR, Role.ENTERPRISE),
        "AcceptAppeal": (Role.REGULATOR,),
        "RejectAppeal": (Role.REGULATOR,),
        "SummarizeGrades": (Role.SYSTEM, Role.REGULATOR),
        "ListGradeHistory": (Role.SYSTEM, Role.REGULATOR, Role.INSPECTOR, Role.ENTERPRISE),
    },
    bootstrap="services.scoring.bootstrap:build_app",
    tables="services.scoring.adapters.tables:TABLES",
    migrations="services.scoring.adapters.migrations",
    unit_of_work="services.scoring.adapters.unit_of_work:ScoringUnitOfWork",
    publishes=TOPIC,
    consumes=("integrity.enterprises.v1", "integrity.complaints.v1", "integrity.inspections.v1"),
    history=HistoryRules(
        refuses={kind: _DECISION for kind in ("grade_changed", "credit_repair_granted", "grade_overridden")}
    ),
    commands=("services.scoring.entrypoints.commands:register",),
    # Grades follow evidence as it ages (decay, lapsing rules and overrides): regrade everyone daily.
    schedules=(Schedule("scoring-recompute", "02:30", ("scoring", "recompute", "--no-progress")),),
)
