"""Small, valid histories for the import tests: what each service would itself have produced."""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from integrity.complaints.v1 import complaints_pb2
from integrity.enterprises.v1 import enterprises_pb2
from integrity.events.v1 import events_pb2
from integrity.inspections.v1 import inspections_pb2
from shared.events import Event, new_event
from shared.uscc import with_check_character

CITIES = ("610112", "610113", "610302", "610402", "610502")
_IDS = uuid.UUID("0f3e6a52-7f43-4b1e-9f0c-5d5a3c8e2b71")
# One legacy public code for every commitment `changes` declares: the first keeps it, the rest get new ones.
SIGN_CODE = "CMT-7KQ2M9XHPB"


@dataclass
class HistoryBuilder:
    """Deterministic events for `enterprises` enterprises; ids derive from the seed, so two builds match."""

    seed: int = 1
    start: datetime = datetime(2022, 1, 3, 2, 0, tzinfo=UTC)
    events: list[Event] = field(default_factory=list)
    # Each registered enterprise as last recorded, by USCC.
    enterprises: dict[str, enterprises_pb2.Enterprise] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.rng = random.Random(self.seed)
        self._counter = 0

    def _id(self) -> str:
        self._counter += 1
        return str(uuid.uuid5(_IDS, f"{self.seed}/{self._counter}"))

    def _hex(self, digits: int) -> str:
        return f"{self.rng.getrandbits(4 * digits):0{digits}x}"

    def emit(self, source: str, uscc: str, payload: object, when: datetime) -> Event:
        event = new_event(f"//integrity/{source}", uscc, payload, occurred_at=when)  # type: ignore[arg-type]
        event.id = self._id()
        event.recorded_at.CopyFrom(event.occurred_at)
        self.events.append(event)
        return event

    def enterprise(self, serial: int, region: str | None = None) -> str:
        region = region or CITIES[serial % len(CITIES)]
        uscc = with_check_character(f"91{region}MA{self.seed % 100:02d}{serial:05d}")
        enterprise = enterprises_pb2.Enterprise(
            name=f"enterprises/{uscc}",
            uscc=uscc,
            display_name=f"测试企业{serial}号加油站",
            region_code=region,
            industry_code="F5265",
            subject_type=enterprises_pb2.SUBJECT_TYPE_TRADE_INSTRUMENT_USER,
            size_class=enterprises_pb2.SIZE_CLASS_SMALL,
        )
        when = self.start + timedelta(hours=serial)
        self.emit("enterprises", uscc, events_pb2.EnterpriseRegistered(enterprise=enterprise), when)
        self.enterprises[uscc] = enterprise
        return uscc

    def changes(self, uscc: str, when: datetime) -> None:
        """A renaming, a commitment declared and withdrawn, a capability declaration, then a suspension."""
        renamed = enterprises_pb2.Enterprise()
        renamed.CopyFrom(self.enterprises[uscc])
        renamed.display_name += "（更名）"
        self.emit(
            "enterprises",
            uscc,
            events_pb2.EnterpriseUpdated(enterprise=renamed, changed_fields=["display_name"]),
            when,
        )
        commitment = enterprises_pb2.Commitment(
            name=f"enterprises/{uscc}/commitments/{self._hex(16)}",
            items=[enterprises_pb2.COMMITMENT_ITEM_NO_CHEATING_DEVICES],
            valid_from=(when + timedelta(days=2)).date().isoformat(),
            valid_until=(when + timedelta(days=365)).date().isoformat(),
            public_code=SIGN_CODE,  # the legacy system's code on the shop-front sign
        )
        self.emit(
            "enterprises",
            uscc,
            events_pb2.CommitmentDeclared(commitment=commitment),
            when + timedelta(days=1),
        )
        self.emit(
            "enterprises",
            uscc,
            events_pb2.CommitmentWithdrawn(commitment=commitment),
            when + timedelta(days=3),
        )
        capability = enterprises_pb2.CapabilityDeclaration(
            name=f"enterprises/{uscc}/capabilityDeclarations/{self._hex(16)}",
            has_management_system=True,
            instrument_count=12,
            metrology_staff_count=1,
        )
        self.emit(
            "enterprises",
            uscc,
            events_pb2.CapabilityDeclared(declaration=capability),
            when + timedelta(days=4),
        )
        suspended = enterprises_pb2.Enterprise()
        suspended.CopyFrom(renamed)
        suspended.status = enterprises_pb2.ENTERPRISE_STATUS_SUSPENDED
        payload = events_pb2.EnterpriseStatusChanged(
            enterprise=suspended, previous_status=enterprises_pb2.ENTERPRISE_STATUS_ACTIVE
        )
        self.emit("enterprises", uscc, payload, when + timedelta(days=5))
        self.enterprises[uscc] = suspended

    def instrument(self, uscc: str, when: datetime) -> str:
        name = f"enterprises/{uscc}/instruments/{self._hex(16)}"
        instrument = enterprises_pb2.Instrument(
            name=name,
            type=enterprises_pb2.INSTRUMENT_TYPE_FUEL_DISPENSER,
            serial_number=f"SN-{self._hex(8)}",
            usage=enterprises_pb2.INSTRUMENT_USAGE_IN_USE,
        )
        self.emit("enterprises", uscc, events_pb2.InstrumentRegistered(instrument=instrument), when)
        verification = enterprises_pb2.Verification(
            verification_date=(when + timedelta(days=2)).date().isoformat(),
            result=enterprises_pb2.VERIFICATION_RESULT_PASS,
            certificate_number=f"C-{self._hex(6)}",
        )
        payload = events_pb2.VerificationRecorded(
            instrument=name,
            instrument_type=enterprises_pb2.INSTRUMENT_TYPE_FUEL_DISPENSER,
            verification=verification,
        )
        self.emit("enterprises", uscc, payload, when + timedelta(days=2))
        return name

    def complaint(self, uscc: str, when: datetime, substantiated: bool) -> None:
        name = f"complaints/{self._hex(24)}"
        category = complaints_pb2.COMPLAINT_CATEGORY_SHORT_WEIGHT_OR_MEASURE
        filed = events_pb2.ComplaintFiled(
            complaint=name,
            category=category,
            channel=complaints_pb2.COMPLAINT_CHANNEL_HOTLINE,
            region_code=uscc[2:8],
        )
        self.emit("complaints", uscc, filed, when)
        self.emit(
            "complaints",
            uscc,
            events_pb2.ComplaintAccepted(complaint=name, category=category),
            when + timedelta(days=2),
        )
        severity = complaints_pb2.COMPLAINT_SEVERITY_MAJOR if substantiated else 0
        resolved = events_pb2.ComplaintResolved(
            complaint=name, category=category, substantiated=substantiated, severity=severity
        )
        self.emit("complaints", uscc, resolved, when + timedelta(days=20))

    def inspection(self, uscc: str, when: datetime, outcome: int) -> None:
        summary = events_pb2.InspectionFindingSummary(instruments_checked=3)
        payload = events_pb2.InspectionCompleted(inspection=f"inspections/{self._hex(24)}", outcome=outcome)
        if outcome == inspections_pb2.INSPECTION_OUTCOME_SERIOUS_VIOLATION:
            summary.tampering_found = True
        elif outcome != inspections_pb2.INSPECTION_OUTCOME_COMPLIANT:
            summary.instruments_failed = 1
        if outcome != inspections_pb2.INSPECTION_OUTCOME_COMPLIANT:
            payload.rectification_deadline.FromDatetime(when + timedelta(days=30))
            payload.penalty_reference = f"陕市监罚〔{when.year}〕{self.rng.randint(1, 999)}号"
        payload.summary.CopyFrom(summary)
        self.emit("inspections", uscc, payload, when)

    def province(self, enterprises: int) -> list[Event]:
        """Registrations, instruments, complaints and inspections over three years, sorted as exported."""
        outcomes = [
            inspections_pb2.INSPECTION_OUTCOME_COMPLIANT,
            inspections_pb2.INSPECTION_OUTCOME_COMPLIANT,
            inspections_pb2.INSPECTION_OUTCOME_MINOR_VIOLATION,
            inspections_pb2.INSPECTION_OUTCOME_MAJOR_VIOLATION,
            inspections_pb2.INSPECTION_OUTCOME_SERIOUS_VIOLATION,
        ]
        for serial in range(enterprises):
            uscc = self.enterprise(serial)
            registered = self.start + timedelta(hours=serial)
            self.instrument(uscc, registered + timedelta(days=5))
            for _ in range(self.rng.randint(0, 3)):
                moment = registered + timedelta(
                    days=self.rng.randint(30, 900), minutes=self.rng.randint(0, 600)
                )
                self.complaint(uscc, moment, substantiated=self.rng.random() < 0.5)
            for _ in range(self.rng.randint(0, 3)):
                moment = registered + timedelta(
                    days=self.rng.randint(60, 1000), minutes=self.rng.randint(0, 600)
                )
                self.inspection(uscc, moment, self.rng.choice(outcomes))
        self.events.sort(key=lambda event: (event.occurred_at.ToDatetime(), event.id))
        return self.events
