"""Complaints about an enterprise: more frequent and more often substantiated the less honest it is,
repeats of the same matter, and now and then a flood of baseless complaints (a competitor), which has
nothing to do with its integrity."""

from __future__ import annotations

import math
from datetime import datetime, timedelta

from integrity.complaints.v1 import complaints_pb2 as cpb
from integrity.events.v1 import events_pb2
from operations.demo.shaanxi import SIZE_SCALE
from operations.demo.story import COMPLAINTS_SOURCE, Story, sigmoid

COMPETITOR_FLOOD_SHARE = 0.01  # enterprises hit by a flood of baseless complaints (independent of integrity)


class ComplaintsStory(Story):
    _last_complaint: str  # the complaint a repeat report points to

    def complaints(self) -> list[datetime]:
        """Complaints over the years; returns when substantiated ones would trigger an inspection."""
        rng, z = self.rng, self.z
        rate = self.sector.complaints_per_year * SIZE_SCALE[self.size] ** 0.7 * math.exp(1.0 * z)
        triggers = []
        for filed in self.poisson_times(rate, self.active_from):
            substantiated = rng.random() < sigmoid(-1.0 + 1.4 * z)
            resolved = self.complaint(filed, substantiated)
            if substantiated and rng.random() < 0.7:
                triggers.append(resolved + timedelta(days=rng.uniform(3, 20)))
            if rng.random() < 0.15:  # the same matter reported again by someone else
                self.file(filed + timedelta(days=rng.uniform(1, 10)), duplicate_of=self._last_complaint)
        if rng.random() < COMPETITOR_FLOOD_SHARE:  # a flood of baseless complaints, e.g. from a competitor
            begin = self.active_from + timedelta(
                seconds=rng.uniform(0, (self.end - self.active_from).total_seconds())
            )
            for _ in range(rng.randint(20, 60)):
                self.complaint(begin + timedelta(days=rng.uniform(0, 30)), False, anonymous=True)
        return triggers

    def file(self, moment: datetime, *, duplicate_of: str = "", anonymous: bool | None = None) -> str:
        rng = self.rng
        name = f"complaints/{self.new_id(moment)}"
        self.emit(
            moment,
            COMPLAINTS_SOURCE,
            "complaint_filed",
            events_pb2.ComplaintFiled(
                complaint=name,
                category=self.complaint_category(),  # type: ignore[arg-type]
                channel=rng.choice(  # type: ignore[arg-type]
                    (cpb.COMPLAINT_CHANNEL_PLATFORM_12315,) * 5
                    + (cpb.COMPLAINT_CHANNEL_HOTLINE,) * 3
                    + (
                        cpb.COMPLAINT_CHANNEL_ONLINE,
                        cpb.COMPLAINT_CHANNEL_LETTER,
                        cpb.COMPLAINT_CHANNEL_WALK_IN,
                    )
                ),
                anonymous=rng.random() < 0.4 if anonymous is None else anonymous,
                duplicate_of=duplicate_of,
                region_code=self.county,
            ),
        )
        return name

    def complaint(self, filed: datetime, substantiated: bool, anonymous: bool | None = None) -> datetime:
        """Filed, then accepted and resolved (or rejected); returns when it was decided."""
        rng = self.rng
        name = self.file(filed, anonymous=anonymous)
        self._last_complaint = name
        category = self.complaint_category()
        decided = filed + timedelta(days=rng.uniform(1, 5))
        if not substantiated and rng.random() < 0.25:
            self.emit(
                decided,
                COMPLAINTS_SOURCE,
                "complaint_rejected",
                events_pb2.ComplaintRejected(complaint=name, category=category),  # type: ignore[arg-type]
            )
            return decided
        self.emit(
            decided,
            COMPLAINTS_SOURCE,
            "complaint_accepted",
            events_pb2.ComplaintAccepted(complaint=name, category=category),  # type: ignore[arg-type]
        )
        resolved = decided + timedelta(days=rng.uniform(7, 40))
        severity = cpb.COMPLAINT_SEVERITY_MAJOR if rng.random() < 0.25 else cpb.COMPLAINT_SEVERITY_MINOR
        self.emit(
            resolved,
            COMPLAINTS_SOURCE,
            "complaint_resolved",
            events_pb2.ComplaintResolved(
                complaint=name,
                category=category,  # type: ignore[arg-type]
                substantiated=substantiated,
                severity=severity if substantiated else cpb.COMPLAINT_SEVERITY_UNSPECIFIED,  # type: ignore[arg-type]
            ),
        )
        return resolved

    def complaint_category(self) -> int:
        key = self.sector.key
        if key == "prepackaged":
            return cpb.COMPLAINT_CATEGORY_NET_CONTENT_SHORTFALL
        if key in ("fuel", "retail", "taxi"):
            return self.rng.choice(
                (cpb.COMPLAINT_CATEGORY_SHORT_WEIGHT_OR_MEASURE,) * 3
                + (
                    cpb.COMPLAINT_CATEGORY_CHEATING_INSTRUMENT,
                    cpb.COMPLAINT_CATEGORY_UNVERIFIED_OR_OVERDUE_INSTRUMENT,
                )
            )
        if key in ("testing", "instrument_maker"):
            return cpb.COMPLAINT_CATEGORY_FALSE_DATA_OR_CERTIFICATE
        return self.rng.choice(
            (cpb.COMPLAINT_CATEGORY_UNVERIFIED_OR_OVERDUE_INSTRUMENT, cpb.COMPLAINT_CATEGORY_OTHER)
        )
