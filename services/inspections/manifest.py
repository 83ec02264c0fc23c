"""The inspections service's declaration: its API and who may call it, topics, tables and history."""

from __future__ import annotations

from shared.auth import Role
from shared.manifest import HistoryRules, ServiceManifest

# Its events, keyed by USCC; other systems consume them.
TOPIC = "integrity.inspections.v1"

SERVICE = ServiceManifest(
    name="inspections",
    default_port=50053,
    api="integrity.inspections.v1.InspectionService",
    access={
        "CreateInspector": (Role.SYSTEM, Role.REGULATOR),
        "UpdateInspector": (Role.SYSTEM, Role.REGULATOR),
        "ListInspectors": (Role.SYSTEM, Role.REGULATOR),
        "CreateInspectionPlan": (Role.REGULATOR,),
        "GetInspectionPlan": (Role.SYSTEM, Role.REGULATOR, Role.INSPECTOR),
        "ListInspectionPlans": (Role.SYSTEM, Role.REGULATOR),
        "VerifyInspectionPlan": (Role.SYSTEM, Role.REGULATOR),
        # Only an inspector assigned to the inspection (checked in the use case).
        "CompleteInspection": (Role.INSPECTOR,),
        "CompleteRectification": (Role.INSPECTOR,),
        # 一公开: anyone, with or without a token; never personal data.
        "ListPublishedResults": (Role.SYSTEM, Role.REGULATOR, Role.INSPECTOR, Role.ENTERPRISE, Role.PUBLIC),
        # An inspector their own inspections (checked in the use case), a regulator their region's.
        "GetInspection": (Role.SYSTEM, Role.REGULATOR, Role.INSPECTOR),
        "ListInspections": (Role.SYSTEM, Role.REGULATOR, Role.INSPECTOR),
        # A draw anyone can verify: the commitments are public from the moment a plan is drawn.
        "ListPlanCommitments": (Role.SYSTEM, Role.REGULATOR, Role.INSPECTOR, Role.ENTERPRISE, Role.PUBLIC),
        "GetPlanCommitment": (Role.SYSTEM, Role.REGULATOR, Role.INSPECTOR, Role.ENTERPRISE, Role.PUBLIC),
    },
    bootstrap="services.inspections.bootstrap:build_app",
    tables="services.inspections.adapters.tables:TABLES",
    migrations="services.inspections.adapters.migrations",
    unit_of_work="services.inspections.adapters.unit_of_work:InspectionsUnitOfWork",
    publishes=TOPIC,
    # The local copy: grades, the enterprise population, substantiated complaints.
    consumes=("integrity.scoring.v1", "integrity.enterprises.v1", "integrity.complaints.v1"),
    history=HistoryRules(
        stage="services.inspections.use_cases.history:stage_imported",
        owns=frozenset(
            {"inspection_completed", "rectification_completed", "rectification_overdue", "inspection_planned"}
        ),
    ),
    commands=("services.inspections.entrypoints.commands:register",),
)
