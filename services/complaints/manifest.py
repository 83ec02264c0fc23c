"""The complaints service's declaration: its API and who may call it, its topic, tables and history."""

from __future__ import annotations

from shared.auth import Role
from shared.manifest import HistoryRules, ServiceManifest

# Its events, keyed by USCC; other systems consume them.
TOPIC = "integrity.complaints.v1"

SERVICE = ServiceManifest(
    name="complaints",
    default_port=50052,
    api="integrity.complaints.v1.ComplaintService",
    access={
        # Filing needs no token (the public, anonymous allowed); the receipt code is the filer's key.
        "CreateComplaint": (Role.SYSTEM, Role.PUBLIC),
        "GetComplaintByReceipt": (Role.SYSTEM, Role.REGULATOR, Role.INSPECTOR, Role.ENTERPRISE, Role.PUBLIC),
        # Regulators: their region; enterprises: decided complaints against themselves; system: its own.
        "GetComplaint": (Role.SYSTEM, Role.REGULATOR, Role.ENTERPRISE),
        "ListComplaints": (Role.SYSTEM, Role.REGULATOR, Role.ENTERPRISE),
        "ListOverdueComplaints": (Role.REGULATOR,),
        "AcceptComplaint": (Role.REGULATOR,),
        "RejectComplaint": (Role.REGULATOR,),
        "InvestigateComplaint": (Role.REGULATOR,),
        "ResolveComplaint": (Role.REGULATOR,),
        "CloseComplaint": (Role.REGULATOR,),
    },
    bootstrap="services.complaints.bootstrap:build_app",
    tables="services.complaints.adapters.tables:TABLES",
    migrations="services.complaints.adapters.migrations",
    unit_of_work="services.complaints.adapters.unit_of_work:ComplaintsUnitOfWork",
    publishes=TOPIC,
    # Its copy of the registry: complaints are matched to registered enterprises (use_cases/matching.py).
    consumes=("integrity.enterprises.v1",),
    history=HistoryRules(
        stage="services.complaints.use_cases.history:stage_imported",
        owns=frozenset(
            {
                "complaint_filed",
                "complaint_accepted",
                "complaint_rejected",
                "complaint_resolved",
                "complaint_matched",
            }
        ),
    ),
)
