"""Domain values -> `integrity.scoring.v1` messages (used by the API and by GradeChanged events)."""

from __future__ import annotations

from integrity.scoring.v1 import scoring_pb2
from services.scoring.domain import Grade, GradeLevel
from services.scoring.repository import RiskEntry


def grade_name(uscc: str) -> str:
    return f"enterprises/{uscc}/grade"


def level_to_proto(level: GradeLevel | None) -> scoring_pb2.GradeLevel:
    # The domain enum's numbers are the proto's (A=1 ... D=4); None is UNSPECIFIED.
    return (
        scoring_pb2.GradeLevel.GRADE_LEVEL_UNSPECIFIED
        if level is None
        else scoring_pb2.GradeLevel.Value(f"GRADE_LEVEL_{level.name}")
    )


def grade_to_proto(uscc: str, grade: Grade) -> scoring_pb2.Grade:
    message = scoring_pb2.Grade(
        name=grade_name(uscc),
        level=level_to_proto(grade.level),
        score=grade.score,
        provisional=grade.provisional,
        reasons=[scoring_pb2.Reason(code=r.code, text=r.text, text_zh=r.text_zh) for r in grade.reasons],
        model_version=grade.model_version,
        policy_version=grade.policy_version,
        feature_version=grade.feature_version,
        violation_probability=grade.violation_probability,
    )
    message.as_of.FromDatetime(grade.as_of)
    return message


def risk_entry_to_proto(entry: RiskEntry) -> scoring_pb2.RiskEntry:
    return scoring_pb2.RiskEntry(
        enterprise=f"enterprises/{entry.uscc}",
        display_name=entry.display_name,
        region_code=entry.region_code,
        industry_code=entry.industry_code,
        grade=grade_to_proto(entry.uscc, entry.grade),
    )
