"""Domain values <-> `integrity.scoring.v1` messages (used by the API and by GradeChanged events)."""

from __future__ import annotations

from datetime import UTC, datetime

from google.protobuf.timestamp_pb2 import Timestamp

from integrity.scoring.v1 import scoring_pb2
from services.scoring.domain.appeals import REVIEW_ACTIONS, Appeal, OverrideReview
from services.scoring.domain.dishonesty import DishonestyListing
from services.scoring.domain.grades import Grade, GradeLevel
from services.scoring.domain.names import credit_repair_name, enterprise_name, grade_name
from services.scoring.domain.repairs import CreditRepair, RepairApplication
from services.scoring.domain.risk_list import RiskEntry
from services.scoring.domain.summary import GradeSummary, LevelCounts
from shared.regions import region_name


def level_to_proto(level: GradeLevel | None) -> scoring_pb2.GradeLevel:
    # The domain enum's numbers are the proto's (A=1 ... D=4); None is UNSPECIFIED.
    return scoring_pb2.GradeLevel.GRADE_LEVEL_UNSPECIFIED if level is None else int(level)  # type: ignore[return-value]


def level_of_proto(level: scoring_pb2.GradeLevel) -> GradeLevel | None:
    """The domain level of a proto level; None for UNSPECIFIED (or an unknown number)."""
    return GradeLevel(level) if level in GradeLevel._value2member_map_ else None


def grade_to_proto(uscc: str, grade: Grade) -> scoring_pb2.Grade:
    message = scoring_pb2.Grade()
    fill_grade(message, uscc, grade)
    return message


def fill_grade(message: scoring_pb2.Grade, uscc: str, grade: Grade) -> None:
    """Sets an empty Grade message (a field of another, so nothing is copied) to `grade`: what
    `grade_to_proto` gives, field by field (every GradeChanged event builds one)."""
    message.name = grade_name(uscc)
    message.level = int(grade.level)  # type: ignore[assignment]
    message.score = grade.score
    message.provisional = grade.provisional
    reasons = message.reasons
    for reason in grade.reasons:
        reasons.add(code=reason.code, text=reason.text, text_zh=reason.text_zh)
    message.model_version = grade.model_version
    message.policy_version = grade.policy_version
    message.feature_version = grade.feature_version
    message.violation_probability = grade.violation_probability
    message.label = grade.label
    set_timestamp(message.as_of, grade.as_of)


def set_timestamp(stamp: Timestamp, moment: datetime) -> None:
    """Timestamp.FromDatetime for an aware datetime, without its time tuple."""
    since = moment - _EPOCH
    stamp.seconds = since.days * 86400 + since.seconds
    stamp.nanos = since.microseconds * 1000


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def risk_entry_to_proto(entry: RiskEntry) -> scoring_pb2.RiskEntry:
    return scoring_pb2.RiskEntry(
        enterprise=enterprise_name(entry.uscc),
        display_name=entry.display_name,
        region_code=entry.region_code,
        industry_code=entry.industry_code,
        grade=grade_to_proto(entry.uscc, entry.grade),
        region_name=region_name(entry.region_code),
    )


def credit_repair_to_proto(repair: CreditRepair, grade: Grade) -> scoring_pb2.CreditRepair:
    message = scoring_pb2.CreditRepair(
        name=repair.name,
        rule_code=repair.rule_code,
        reason=repair.reason,
        decided_by=repair.decided_by,
        grade=grade_to_proto(repair.uscc, grade),
    )
    message.create_time.FromDatetime(repair.created_at)
    return message


def appeal_to_proto(appeal: Appeal) -> scoring_pb2.Appeal:
    message = scoring_pb2.Appeal(
        name=appeal.name,
        reason=appeal.reason,
        state=scoring_pb2.AppealState.Value(f"APPEAL_STATE_{appeal.state}"),
        appealed_level=level_to_proto(appeal.appealed_level),
        filed_by=appeal.filed_by,
        decided_by=appeal.decided_by,
        decision_reason=appeal.decision_reason,
        override_level=level_to_proto(appeal.override_level),
    )
    message.create_time.FromDatetime(appeal.created_at)
    if appeal.decided_at is not None:
        message.decide_time.FromDatetime(appeal.decided_at)
    if appeal.override_expire_at is not None:
        message.override_expire_time.FromDatetime(appeal.override_expire_at)
    message.override_reviews.extend(review_to_proto(review) for review in appeal.reviews)
    return message


def review_action_of_proto(action: scoring_pb2.OverrideReviewAction) -> str:
    """CONFIRM, SHORTEN or LIFT; empty for UNSPECIFIED (or an unknown number)."""
    name = (
        scoring_pb2.OverrideReviewAction.Name(action)
        if action in scoring_pb2.OverrideReviewAction.values()
        else ""
    )
    action_name = name.removeprefix("OVERRIDE_REVIEW_ACTION_")
    return action_name if action_name in REVIEW_ACTIONS else ""


def review_to_proto(review: OverrideReview) -> scoring_pb2.OverrideReview:
    message = scoring_pb2.OverrideReview(
        action=scoring_pb2.OverrideReviewAction.Value(f"OVERRIDE_REVIEW_ACTION_{review.action}"),
        reviewed_by=review.reviewed_by,
        reason=review.reason,
    )
    message.previous_expire_time.FromDatetime(review.previous_expire_at)
    message.expire_time.FromDatetime(review.expire_at)
    message.review_time.FromDatetime(review.reviewed_at)
    return message


def application_to_proto(application: RepairApplication) -> scoring_pb2.CreditRepairApplication:
    message = scoring_pb2.CreditRepairApplication(
        name=application.name,
        rule_code=application.rule_code,
        commitment_letter=application.commitment_letter,
        rectification_statement=application.rectification_statement,
        state=scoring_pb2.CreditRepairApplicationState.Value(
            f"CREDIT_REPAIR_APPLICATION_STATE_{application.state}"
        ),
        applied_by=application.applied_by,
        decided_by=application.decided_by,
        decision_reason=application.decision_reason,
        credit_repair=(
            credit_repair_name(application.uscc, application.credit_repair_id)
            if application.credit_repair_id
            else ""
        ),
    )
    message.create_time.FromDatetime(application.created_at)
    if application.decided_at is not None:
        message.decide_time.FromDatetime(application.decided_at)
    return message


def listing_to_proto(listing: DishonestyListing) -> scoring_pb2.DishonestyListing:
    message = scoring_pb2.DishonestyListing(
        name=listing.name,
        reason=listing.reason,
        decision_reference=listing.decision_reference,
        authority=listing.authority,
        listed_by=listing.listed_by,
        active=listing.active,
        removed_by=listing.removed_by,
        removal_reason=listing.removal_reason,
    )
    message.list_time.FromDatetime(listing.listed_at)
    if listing.removed_at is not None:
        message.remove_time.FromDatetime(listing.removed_at)
    return message


def _level_counts(levels: dict[GradeLevel, int] | LevelCounts) -> list[scoring_pb2.LevelCount]:
    by_level = levels.by_level if isinstance(levels, LevelCounts) else levels
    return [
        scoring_pb2.LevelCount(level=level_to_proto(level), count=by_level[level])
        for level in sorted(by_level)
        if by_level[level]
    ]


def summary_to_proto(summary: GradeSummary) -> scoring_pb2.SummarizeGradesResponse:
    message = scoring_pb2.SummarizeGradesResponse(
        region_code=summary.region_code,
        counts=_level_counts(summary.totals),
        provisional_count=summary.totals.provisional,
        regions=[
            scoring_pb2.RegionGradeCounts(
                region_code=code, counts=_level_counts(counts), provisional_count=counts.provisional
            )
            for code, counts in summary.regions.items()
        ],
        months=[
            scoring_pb2.MonthlyGradeCounts(month=month, counts=_level_counts(levels))
            for month, levels in summary.months
        ],
        recent_changes=[
            scoring_pb2.LevelChangeCount(from_level=level_to_proto(a), to_level=level_to_proto(b), count=n)
            for (a, b), n in sorted(summary.recent_changes.items())
        ],
    )
    for change in summary.latest_changes:
        entry = message.latest_changes.add(
            enterprise=enterprise_name(change.uscc),
            display_name=change.display_name,
            region_code=change.region_code,
            from_level=level_to_proto(change.from_level),
            to_level=level_to_proto(change.to_level),
        )
        entry.change_time.FromDatetime(change.changed_at)
    message.change_window_start.FromDatetime(summary.change_window_start)
    return message
