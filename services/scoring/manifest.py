"""The scoring service's declaration: its API and who may call it, topics, tables and history."""

from __future__ import annotations

from shared.auth import Role
from shared.manifest import HistoryRules, Schedule, ServiceManifest

_GRADE = (
    "is a grade, not a decision, and is not imported: grades are recomputed from the imported history "
    "(with the appeals, overrides, repairs and listings it carries)"
)
# The decisions on grades, with who, when and why: exported, and imported by the rules of the API.
DECISION_EVENTS = frozenset(
    {
        "appeal_filed",
        "grade_overridden",
        "appeal_rejected",
        "override_reviewed",
        "credit_repair_applied",
        "credit_repair_granted",
        "credit_repair_refused",
        "dishonesty_listed",
        "dishonesty_removed",
    }
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
        # A regulator's queue of their region; an enterprise's own; the system's all.
        "ListAppeals": (Role.SYSTEM, Role.REGULATOR, Role.ENTERPRISE),
        "ReviewAppealOverride": (Role.REGULATOR,),
        # Only the enterprise applies, for itself; a regulator of its region decides.
        "CreateCreditRepairApplication": (Role.ENTERPRISE,),
        "GetCreditRepairApplication": (Role.SYSTEM, Role.REGULATOR, Role.ENTERPRISE),
        "ListCreditRepairApplications": (Role.SYSTEM, Role.REGULATOR, Role.ENTERPRISE),
        "GrantCreditRepairApplication": (Role.REGULATOR,),
        "RefuseCreditRepairApplication": (Role.REGULATOR,),
        # The national credit system keeps the serious-dishonesty list; regulators and the enterprise read it.
        "CreateDishonestyListing": (Role.SYSTEM,),
        "RemoveDishonestyListing": (Role.SYSTEM,),
        "ListDishonestyListings": (Role.SYSTEM, Role.REGULATOR, Role.ENTERPRISE),
    },
    bootstrap="services.scoring.bootstrap:build_app",
    tables="services.scoring.adapters.tables:TABLES",
    migrations="services.scoring.adapters.migrations",
    unit_of_work="services.scoring.adapters.unit_of_work:ScoringUnitOfWork",
    publishes=TOPIC,
    consumes=("integrity.enterprises.v1", "integrity.complaints.v1", "integrity.inspections.v1"),
    history=HistoryRules(
        owns=DECISION_EVENTS,
        # The bootstrap supplies the grading policy to the import use case (use_cases/history.py).
        stage="services.scoring.bootstrap:stage_history",
        refuses={"grade_changed": _GRADE},
    ),
    commands=("services.scoring.entrypoints.commands:register",),
    # Grades follow evidence as it ages (decay, lapsing rules and overrides): regrade everyone daily.
    schedules=(Schedule("scoring-recompute", "02:30", ("scoring", "recompute", "--no-progress")),),
)
