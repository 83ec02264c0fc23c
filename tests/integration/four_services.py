"""The four services in this process, on SQLite, with a broker that is never there (their relays and
consumers back off), and a seeded world of two regions: what the suites generated from the method table
and from the protos call.

Region IN is Xi'an (regulators and inspectors of 610100; its enterprise registered in 610112), region OUT
is Baoji (610300; its enterprise in 610302). Each has an enterprise with an instrument, a commitment and a
capability declaration; an open and a resolved complaint; inspectors and a plan with one inspection; a
grade and a pending appeal. The events that would have reached inspections and scoring through Kafka are
fed to their handlers directly.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import grpc
from google.protobuf import descriptor_pool, message_factory
from google.protobuf.message import Message

from integrity.complaints.v1 import complaints_pb2 as C
from integrity.enterprises.v1 import enterprises_pb2 as E
from integrity.events.v1 import events_pb2
from integrity.inspections.v1 import inspections_pb2 as Q
from integrity.scoring.v1 import scoring_pb2 as S
from operations import catalogue
from services.enterprises.domain.values import china_today
from services.inspections.adapters.unit_of_work import InspectionsUnitOfWork
from services.inspections.entrypoints.consumer import handle_event
from services.scoring.adapters.policy_file import load_policy
from services.scoring.adapters.unit_of_work import ScoringUnitOfWork
from services.scoring.domain.repairs import PENDING, RepairApplication
from services.scoring.entrypoints.consumer import ScoringEventHandler
from shared.auth import Role, issue_token
from shared.db import make_engine
from shared.events import new_event, utcnow
from shared.grpc_server import RunningService, start
from shared.manifest import load
from shared.settings import Settings
from tests.helpers import enterprise_registered, valid_uscc

DEAD_BROKER = "127.0.0.1:1"
SYSTEM_SUBJECT = "integrity-test-system"


@dataclass(frozen=True)
class Profile:
    """A caller: role and scope, and the metadata its calls carry."""

    label: str
    role: Role
    region: str | None = None
    uscc: str | None = None
    subject: str | None = None
    metadata: tuple[tuple[str, str], ...] = ()


@dataclass
class Target:
    """The resources of one region, by the names the requests use."""

    label: str
    uscc: str
    region: str  # the enterprise's county
    plan_region: str  # the city its regulators and inspectors belong to
    instrument: str = ""
    commitment: str = ""
    public_code: str = ""
    open_complaint: str = ""
    resolved_complaint: str = ""
    receipt: str = ""
    inspector: str = ""  # `inspectors/{id}`: one of the region's, the lead of its inspection
    plan: str = ""
    inspection: str = ""
    appeal: str = ""
    application: str = ""  # a pending credit repair application
    listing: str = ""  # an active serious-dishonesty listing
    team: tuple[str, ...] = ()

    @property
    def enterprise(self) -> str:
        return f"enterprises/{self.uscc}"


@dataclass
class World:
    settings: Settings
    running: dict[str, RunningService]
    channels: dict[str, grpc.Channel]
    targets: dict[str, Target]
    profiles: list[Profile] = field(default_factory=list)
    _serial: int = 500

    def call(self, method: str, request: Message, metadata: tuple[tuple[str, str], ...] = ()) -> Any:
        """Calls `/pkg.Service/Method` on the service that serves it; raises grpc.RpcError."""
        service = service_of(method)
        rpc = self.channels[service].unary_unary(
            method,
            request_serializer=lambda message: message.SerializeToString(),
            response_deserializer=response_class(method).FromString,
        )
        return rpc(request, metadata=metadata, timeout=30)

    def new_uscc(self, region: str) -> str:
        self._serial += 1
        return valid_uscc(self._serial, region)


def service_of(method: str) -> str:
    api = method.lstrip("/").split("/", 1)[0]
    return next(s.name for s in catalogue.SERVICES if s.api == api)


def method_descriptor(method: str) -> Any:
    api, name = method.lstrip("/").split("/", 1)
    return descriptor_pool.Default().FindServiceByName(api).methods_by_name[name]


def request_class(method: str) -> type[Message]:
    return message_factory.GetMessageClass(method_descriptor(method).input_type)


def response_class(method: str) -> type[Message]:
    return message_factory.GetMessageClass(method_descriptor(method).output_type)


def bearer(settings: Settings, role: Role, **claims: str) -> tuple[tuple[str, str], ...]:
    return (("authorization", f"Bearer {issue_token(settings, role, **claims)}"),)  # type: ignore[arg-type]


def four_services(var_dir: Path) -> Iterator[World]:
    settings = Settings(var_dir=var_dir, kafka_bootstrap_servers=DEAD_BROKER, relay_max_backoff_seconds=30)
    running = {s.name: start(load(s.bootstrap)(settings), 0) for s in catalogue.SERVICES}
    channels = {name: grpc.insecure_channel(service.address) for name, service in running.items()}
    targets = {
        "IN": Target("IN", valid_uscc(101, "610112"), "610112", "610100"),
        "OUT": Target("OUT", valid_uscc(102, "610302"), "610302", "610300"),
    }
    world = World(settings, running, channels, targets)
    try:
        _seed(world)
        world.profiles = _profiles(world)
        yield world
    finally:
        for channel in channels.values():
            channel.close()
        for service in running.values():
            service.stop(0)


def _profiles(world: World) -> list[Profile]:
    settings, inside, outside = world.settings, world.targets["IN"], world.targets["OUT"]

    def profile(label: str, role: Role, **claims: str) -> Profile:
        return Profile(
            label,
            role,
            claims.get("region"),
            claims.get("uscc"),
            claims.get("subject"),
            bearer(settings, role, **claims),
        )

    return [
        profile("system", Role.SYSTEM, subject=SYSTEM_SUBJECT),
        profile("regulator IN", Role.REGULATOR, region=inside.plan_region),
        profile("regulator OUT", Role.REGULATOR, region=outside.plan_region),
        profile("inspector IN", Role.INSPECTOR, region=inside.plan_region, subject=inside.inspector),
        profile("inspector OUT", Role.INSPECTOR, region=outside.plan_region, subject=outside.inspector),
        profile("inspector without region", Role.INSPECTOR, subject="inspectors/NR000"),
        profile("enterprise IN", Role.ENTERPRISE, uscc=inside.uscc),
        Profile("public", Role.PUBLIC),
    ]


def _seed(world: World) -> None:
    settings = world.settings
    system = bearer(settings, Role.SYSTEM, subject=SYSTEM_SUBJECT)
    for target in world.targets.values():
        owner = bearer(settings, Role.ENTERPRISE, uscc=target.uscc)
        regulator = bearer(settings, Role.REGULATOR, region=target.plan_region)
        registration = E.Enterprise(
            uscc=target.uscc,
            display_name=f"测试企业 {target.label}",
            region_code=target.region,
            industry_code="F5265",
            subject_type=E.SUBJECT_TYPE_TRADE_INSTRUMENT_USER,
        )
        world.call(
            "/integrity.enterprises.v1.EnterpriseService/CreateEnterprise",
            E.CreateEnterpriseRequest(enterprise=registration, request_id=str(uuid.uuid4())),
            system,
        )
        instrument = world.call(
            "/integrity.enterprises.v1.EnterpriseService/CreateInstrument",
            E.CreateInstrumentRequest(
                parent=target.enterprise,
                instrument=E.Instrument(
                    type=E.INSTRUMENT_TYPE_FUEL_DISPENSER, serial_number=f"SN-{target.label}"
                ),
            ),
            system,
        ).instrument
        target.instrument = instrument.name
        commitment = world.call(
            "/integrity.enterprises.v1.EnterpriseService/CreateCommitment",
            E.CreateCommitmentRequest(parent=target.enterprise, commitment=commitment_of_today()),
            owner,
        ).commitment
        target.commitment, target.public_code = commitment.name, commitment.public_code
        target.open_complaint, target.receipt = _complaint(world, target, system)
        target.resolved_complaint, _ = _complaint(world, target, system)
        for move, extra in (("AcceptComplaint", {}), ("ResolveComplaint", {"resolution": "查无实据"})):
            world.call(
                f"/integrity.complaints.v1.ComplaintService/{move}",
                request_class(f"/integrity.complaints.v1.ComplaintService/{move}")(
                    name=target.resolved_complaint, **extra
                ),
                regulator,
            )
        _feed_the_projections(world, target, registration)
        prefix = "XA" if target.label == "IN" else "BJ"
        for n in range(3):
            world.call(
                "/integrity.inspections.v1.InspectionService/CreateInspector",
                Q.CreateInspectorRequest(
                    inspector=Q.Inspector(
                        display_name=f"检查员 {prefix}{n}",
                        region_code=target.plan_region,
                        qualifications=list(Q.Qualification.values())[1:],
                    ),
                    inspector_id=f"{prefix}{n:03d}",
                ),
                regulator,
            )
        everyone = [Q.SamplingRatio(level=level, ratio=1.0) for level in S.GradeLevel.values()]
        plan = world.call(
            "/integrity.inspections.v1.InspectionService/CreateInspectionPlan",
            Q.CreateInspectionPlanRequest(
                inspection_plan=Q.InspectionPlan(
                    region_code=target.plan_region, sampling_ratios=everyone, seed=7
                )
            ),
            regulator,
        )
        [inspection] = plan.inspection_plan.inspections
        target.plan, target.inspection = plan.inspection_plan.name, inspection
        team = world.call(
            "/integrity.inspections.v1.InspectionService/GetInspectionPlan",
            Q.GetInspectionPlanRequest(name=target.plan),
            system,
        ).inspections[0]
        target.team = tuple(team.inspectors)
        target.inspector = team.inspectors[0]
        target.appeal = world.call(
            "/integrity.scoring.v1.ScoringService/CreateAppeal",
            S.CreateAppealRequest(parent=target.enterprise, appeal=S.Appeal(reason="检查时器具已送检")),
            owner,
        ).appeal.name
        target.listing = world.call(
            "/integrity.scoring.v1.ScoringService/CreateDishonestyListing",
            S.CreateDishonestyListingRequest(
                parent=target.enterprise,
                dishonesty_listing=S.DishonestyListing(
                    reason="严重违法失信", decision_reference="陕市监失信〔2026〕1号"
                ),
            ),
            system,
        ).dishonesty_listing.name
        target.application = _application(world, target)


def _application(world: World, target: Target) -> str:
    """A pending credit repair application, stored as scoring would (no rule of the seeded enterprises is
    repairable, so the API would refuse one)."""
    application = RepairApplication(
        str(uuid.uuid4()),
        target.uscc,
        "SERIOUS_VIOLATION",
        "我单位承诺依法经营。",
        "",
        PENDING,
        "t",
        "",
        utcnow(),
        "e",
    )
    engine = make_engine(world.settings.database_url("scoring"))
    try:
        with ScoringUnitOfWork(engine) as uow:
            uow.applications.add(application)
            uow.commit()
    finally:
        engine.dispose()
    return application.name


def commitment_of_today() -> E.Commitment:
    today = china_today()
    return E.Commitment(
        items=[E.COMMITMENT_ITEM_NO_CHEATING_DEVICES],
        valid_from=today.isoformat(),
        valid_until=(today + timedelta(days=365)).isoformat(),
    )


def _complaint(world: World, target: Target, system: tuple[tuple[str, str], ...]) -> tuple[str, str]:
    response = world.call(
        "/integrity.complaints.v1.ComplaintService/CreateComplaint",
        C.CreateComplaintRequest(
            complaint=C.Complaint(
                enterprise=target.enterprise,
                category=C.COMPLAINT_CATEGORY_SHORT_WEIGHT_OR_MEASURE,
                channel=C.COMPLAINT_CHANNEL_PLATFORM_12315,
                description="称重少了二两",
            ),
            request_id=str(uuid.uuid4()),
        ),
        system,
    )
    return response.complaint.name, response.receipt_code


def _feed_the_projections(world: World, target: Target, registration: E.Enterprise) -> None:
    """What Kafka would have brought: the registration to inspections and scoring, a grade to inspections."""
    event = enterprise_registered(target.uscc, region=target.region)
    event.enterprise_registered.enterprise.CopyFrom(registration)
    grade = new_event(
        "//integrity/scoring",
        target.uscc,
        events_pb2.GradeChanged(grade=S.Grade(level=S.GRADE_LEVEL_C), region_code=target.region),
    )
    engines = {name: make_engine(world.settings.database_url(name)) for name in ("inspections", "scoring")}
    try:
        with InspectionsUnitOfWork(engines["inspections"]) as uow:
            handle_event(uow, event, "t")
            handle_event(uow, grade, "t")
            uow.commit()
        with ScoringUnitOfWork(engines["scoring"]) as uow:
            ScoringEventHandler(load_policy())(uow, event, "t")
            uow.commit()
    finally:
        for engine in engines.values():
            engine.dispose()
