"""The enterprise registry's declaration: its API and who may call it, its topic, tables and history."""

from __future__ import annotations

from shared.auth import Role
from shared.manifest import HistoryRules, ServiceManifest

# Its events, keyed by USCC; other systems consume them.
TOPIC = "integrity.enterprises.v1"

SERVICE = ServiceManifest(
    name="enterprises",
    default_port=50051,
    api="integrity.enterprises.v1.EnterpriseService",
    access={
        "CreateEnterprise": (Role.SYSTEM,),
        "GetEnterprise": (Role.SYSTEM, Role.REGULATOR, Role.INSPECTOR, Role.ENTERPRISE),
        "ListEnterprises": (Role.SYSTEM, Role.REGULATOR, Role.INSPECTOR),
        "UpdateEnterprise": (Role.SYSTEM,),
        "CreateInstrument": (Role.SYSTEM, Role.ENTERPRISE),
        "ListInstruments": (Role.SYSTEM, Role.REGULATOR, Role.INSPECTOR, Role.ENTERPRISE),
        "RecordVerification": (Role.SYSTEM,),
        "BatchRecordVerifications": (Role.SYSTEM,),
        "CreateCommitment": (Role.ENTERPRISE,),
        "WithdrawCommitment": (Role.ENTERPRISE,),
        "DeclareCapability": (Role.ENTERPRISE,),
        "ListCommitments": (Role.SYSTEM, Role.REGULATOR, Role.INSPECTOR, Role.ENTERPRISE),
        "ListCapabilityDeclarations": (Role.SYSTEM, Role.REGULATOR, Role.INSPECTOR, Role.ENTERPRISE),
        # Public: anyone may check the code on a shop-front sign, with or without a token.
        "LookupPublicCode": (Role.SYSTEM, Role.REGULATOR, Role.INSPECTOR, Role.ENTERPRISE, Role.PUBLIC),
    },
    bootstrap="services.enterprises.bootstrap:build_app",
    tables="services.enterprises.adapters.tables:TABLES",
    migrations="services.enterprises.adapters.migrations",
    unit_of_work="services.enterprises.adapters.unit_of_work:EnterprisesUnitOfWork",
    publishes=TOPIC,
    history=HistoryRules(
        stage="services.enterprises.use_cases.history:stage_history",
        owns=frozenset(
            {
                "enterprise_registered",
                "enterprise_updated",
                "enterprise_status_changed",
                "instrument_registered",
                "verification_recorded",
                "commitment_declared",
                "commitment_withdrawn",
                "capability_declared",
            }
        ),
    ),
)
