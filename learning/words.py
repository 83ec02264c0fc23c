"""The words of a learned scorecard: a reason code and texts (English, Chinese) per feature, written into the
exported `[scorecard]` table. {bin} in a text becomes the enterprise's bin ("30-120"), {category} its
category (or the label given for it), so a reason says what the learned bins say, never more.

A feature whose risk direction is learned ("auto") may have words per direction: the bins that cost an
enterprise points are at the other end when the direction flips.
"""

from __future__ import annotations

from typing import Any

SEVERITIES = "(0 compliant, 1 minor, 2 major, 3 serious)"
SEVERITIES_ZH = "（0 合格，1 轻微，2 较重，3 严重）"

_GAP = {"0-30": "0-30", "31-90": "31-90", "91-365": "91-365", "366+": "366 or more"}
_GAP_ZH = {"0-30": "0-30", "31-90": "31-90", "91-365": "91-365", "366+": "366 及以上"}
_RESULT = {
    "C": "no violation",
    "M": "a minor violation",
    "J": "a major violation",
    "S": "a serious violation",
}
_RESULT_ZH = {"C": "未发现违法", "M": "轻微违法", "J": "较重违法", "S": "严重违法"}
LAST_RESULT_LABELS = {
    f"{letter}:{gap}": f"{result}, {words} days ago"
    for letter, result in _RESULT.items()
    for gap, words in _GAP.items()
} | {"NEVER": "none yet"}
LAST_RESULT_LABELS_ZH = {
    f"{letter}:{gap}": f"{result}，{words} 天前"
    for letter, result in _RESULT_ZH.items()
    for gap, words in _GAP_ZH.items()
} | {"NEVER": "尚无"}


def _words(code: str, text: str, text_zh: str, **extra: Any) -> dict[str, Any]:
    return {"code": code, "text": text, "text_zh": text_zh, **extra}


WORDS: dict[str, dict[str, Any]] = {
    "minor_decayed": _words(
        "MINOR_VIOLATIONS", "Recent inspections found minor violations.", "近期检查发现轻微计量违法行为。"
    ),
    "major_decayed": _words(
        "MAJOR_VIOLATIONS", "Recent inspections found major violations.", "近期检查发现较重计量违法行为。"
    ),
    "serious_decayed": _words(
        "SERIOUS_VIOLATIONS", "Recent inspections found serious violations.", "近期检查发现严重计量违法行为。"
    ),
    "compliant_decayed": _words(
        "FEW_COMPLIANT_INSPECTIONS",
        "Few recent inspections without violations on record.",
        "近期无违法的检查记录较少。",
    ),
    "minor_findings_decayed": _words(
        "MINOR_FINDINGS", "Recent inspections counted minor findings.", "近期检查记录了轻微问题。"
    ),
    "major_findings_decayed": _words(
        "MAJOR_FINDINGS", "Recent inspections counted major findings.", "近期检查记录了较重问题。"
    ),
    "serious_findings_decayed": _words(
        "SERIOUS_FINDINGS", "Recent inspections counted serious findings.", "近期检查记录了严重问题。"
    ),
    "violation_share": _words(
        "VIOLATION_SHARE",
        "A high share of its inspections found violations ({bin}).",
        "其检查中发现违法的比例较高（{bin}）。",
    ),
    "major_share": _words(
        "MAJOR_VIOLATION_SHARE",
        "A high share of its inspections found major or serious violations ({bin}).",
        "其检查中发现较重或严重违法的比例较高（{bin}）。",
    ),
    "last_outcome": _words(
        "LAST_RESULT_SEVERITY",
        f"Result of its last inspection: {{bin}} {SEVERITIES}.",
        f"最近一次检查结论：{{bin}}{SEVERITIES_ZH}。",
    ),
    "prev_outcome": _words(
        "PREVIOUS_RESULT_SEVERITY",
        f"Result of the inspection before its last: {{bin}} {SEVERITIES}.",
        f"上上次检查结论：{{bin}}{SEVERITIES_ZH}。",
    ),
    "last_cycle_outcome": _words(
        "CYCLE_RESULT_SEVERITY",
        f"Result of its last regular (not follow-up) inspection: {{bin}} {SEVERITIES}.",
        f"最近一次常规（非复查）检查结论：{{bin}}{SEVERITIES_ZH}。",
    ),
    "worst_outcome_365": _words(
        "WORST_RESULT_THIS_YEAR",
        f"Worst inspection result in the past year: {{bin}} {SEVERITIES}, -1 none.",
        f"近一年最重的检查结论：{{bin}}{SEVERITIES_ZH}，-1 表示无。",
    ),
    "days_since_last_inspection": _words(
        "LAST_INSPECTION", "Last inspection {bin} days ago.", "上次检查在 {bin} 天前。"
    ),
    "days_since_last_violation": _words(
        "RECENT_VIOLATION", "Last violation found {bin} days ago.", "上次发现违法在 {bin} 天前。"
    ),
    "days_since_last_major": _words(
        "RECENT_MAJOR_VIOLATION",
        "Last major or serious violation found {bin} days ago.",
        "上次发现较重或严重违法在 {bin} 天前。",
    ),
    "followup_due": {
        "increasing": _words(
            "FOLLOW_UP_DUE",
            "A violation found less than 90 days ago awaits its follow-up.",
            "90 天内发现的违法尚待复查。",
        ),
        "decreasing": _words(
            "NO_FOLLOW_UP_DUE",
            "No recent violation awaits a follow-up inspection.",
            "没有待复查的近期违法。",
        ),
    },
    "substantiated_complaints": _words(
        "SUBSTANTIATED_COMPLAINTS",
        "Complaints about metrology were investigated and substantiated.",
        "计量投诉经调查属实。",
    ),
    "unsubstantiated_complaints": _words(
        "COMPLAINT_VOLUME",
        "Several complaints in the past year, none substantiated (weighs little and is capped).",
        "近一年有多起投诉但均未查实（权重很小且有上限）。",
    ),
    "instruments_bad_share": _words(
        "INSTRUMENTS_OVERDUE_OR_FAILED",
        "Instruments under mandatory verification were overdue or failed at the last check.",
        "最近一次检查发现强制检定计量器具超期未检或不合格。",
    ),
    "registry_instruments_bad_share": _words(
        "REGISTRY_INSTRUMENTS_OVERDUE",
        "Registered instruments are past their verification due date or failed verification.",
        "登记的计量器具超过检定有效期或检定不合格。",
    ),
    "late_verification_share": _words(
        "LATE_VERIFICATIONS",
        "Instruments were often verified only after their due date in the past two years.",
        "近两年计量器具多次超过有效期才送检。",
    ),
    "net_content_short_share": _words(
        "NET_CONTENT_SHORTFALL",
        "Prepackaged goods were found short of their stated net content.",
        "定量包装商品净含量不足。",
    ),
    "open_rectification_overdue": _words(
        "RECTIFICATION_OVERDUE",
        "Violations found by an inspection were not rectified by the deadline.",
        "检查发现的问题逾期未整改。",
    ),
    "commitment_active": _words(
        "NO_COMMITMENT", "No metrology-integrity commitment declared.", "未作出诚信计量自我承诺。"
    ),
    "commitment_breached": _words(
        "COMMITMENT_BREACHED",
        "A violation was found after the enterprise declared its integrity commitment.",
        "作出诚信计量承诺后被查出违法行为。",
    ),
    "capability_declaration": _words(
        "CAPABILITY_NOT_CERTIFIED",
        "Measurement capability neither certified (ISO 10012) nor confirmed on site.",
        "计量能力未获认证（ISO 10012）也未经现场确认。",
    ),
    "enterprise_age_years": _words("ENTERPRISE_AGE", "Registered {bin} years ago.", "成立于 {bin} 年前。"),
    "last_x_gap": _words(
        "LAST_RESULT",
        "Last inspection: {category}.",
        "最近一次检查：{category}。",
        labels=LAST_RESULT_LABELS,
        labels_zh=LAST_RESULT_LABELS_ZH,
    ),
    "ever_inspected": _words(
        "INSPECTION_RECORD",
        "Inspection record: {category}.",
        "检查记录：{category}。",
        labels={"NO": "none, the base risk of enterprises like it", "YES": "on file"},
        labels_zh={"NO": "无，按同类企业的基础风险", "YES": "有"},
    ),
    "industry": _words(
        "INDUSTRY_RISK",
        "Enterprises in its industry ({category}) carry a higher base risk.",
        "所属行业（{category}）的企业基础风险较高。",
        labels={"MISSING": "not registered"},
        labels_zh={"MISSING": "未登记"},
    ),
    "district": _words(
        "DISTRICT_RISK",
        "Enterprises in its district ({category}) carry a higher base risk.",
        "所在地区（{category}）的企业基础风险较高。",
        labels={"MISSING": "not registered"},
        labels_zh={"MISSING": "未登记"},
    ),
    "subject_type": _words(
        "SUBJECT_TYPE_RISK",
        "This kind of enterprise carries a higher base risk in metrology.",
        "此类主体的计量基础风险较高。",
    ),
    "size_class": _words(
        "SIZE_RISK", "Enterprises of its size carry a higher base risk.", "此规模的企业基础风险较高。"
    ),
}


def words_for(feature: str, risk: str | None = None) -> dict[str, Any]:
    """The code, texts and (for a categorical) labels of a feature, for its learned risk direction."""
    words = WORDS[feature]
    if risk is not None and risk in words:
        return dict(words[risk])
    return dict(words)
