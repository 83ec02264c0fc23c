"""The console's words: page labels (MESSAGES: key -> (Chinese, English)) and enum labels (ENUMS: enum ->
full value name -> (Chinese, English)). Kept apart from the code so a translator edits one file."""

from __future__ import annotations

from typing import Any

from console.messages import PAGES
from integrity.complaints.v1 import complaints_pb2 as C
from integrity.enterprises.v1 import enterprises_pb2 as E
from integrity.inspections.v1 import inspections_pb2 as I
from integrity.scoring.v1 import scoring_pb2 as S

ENUM_TYPES: dict[str, Any] = {
    "GradeLevel": S.GradeLevel,
    "AppealState": S.AppealState,
    "SubjectType": E.SubjectType,
    "SizeClass": E.SizeClass,
    "InstrumentType": E.InstrumentType,
    "VerificationStatus": E.VerificationStatus,
    "CommitmentItem": E.CommitmentItem,
    "CommitmentState": E.CommitmentState,
    "InspectionOutcome": I.InspectionOutcome,
    "InspectionState": I.InspectionState,
    "FindingStatus": I.VerificationStatus,
    "DeclarationCheck": I.DeclarationCheck,
    "ComplaintCategory": C.ComplaintCategory,
    "ComplaintState": C.ComplaintState,
    "ComplaintSeverity": C.ComplaintSeverity,
}

ENUMS: dict[str, dict[str, tuple[str, str]]] = {
    "GradeLevel": {
        "GRADE_LEVEL_A": ("A 低风险", "A low risk"),
        "GRADE_LEVEL_B": ("B 一般风险", "B general risk"),
        "GRADE_LEVEL_C": ("C 较高风险", "C higher risk"),
        "GRADE_LEVEL_D": ("D 高风险", "D high risk"),
    },
    "AppealState": {
        "APPEAL_STATE_PENDING": ("待处理", "pending"),
        "APPEAL_STATE_ACCEPTED": ("已采纳", "accepted"),
        "APPEAL_STATE_REJECTED": ("已驳回", "rejected"),
    },
    "SubjectType": {
        "SUBJECT_TYPE_TRADE_INSTRUMENT_USER": ("贸易结算器具使用者", "trade instrument user"),
        "SUBJECT_TYPE_PREPACKAGED_GOODS_PRODUCER": ("定量包装商品生产者", "prepackaged goods producer"),
        "SUBJECT_TYPE_INSTRUMENT_MANUFACTURER_OR_REPAIRER": (
            "计量器具制造修理者",
            "instrument manufacturer or repairer",
        ),
        "SUBJECT_TYPE_CALIBRATION_OR_TESTING_INSTITUTION": ("校准检测机构", "calibration or testing body"),
        "SUBJECT_TYPE_MEDICAL_INSTITUTION": ("医疗机构", "medical institution"),
        "SUBJECT_TYPE_UTILITY": ("供水供电供气供热", "utility"),
        "SUBJECT_TYPE_OTHER": ("其他", "other"),
    },
    "SizeClass": {
        "SIZE_CLASS_MICRO": ("微型", "micro"),
        "SIZE_CLASS_SMALL": ("小型", "small"),
        "SIZE_CLASS_MEDIUM": ("中型", "medium"),
        "SIZE_CLASS_LARGE": ("大型", "large"),
    },
    "InstrumentType": {
        "INSTRUMENT_TYPE_FUEL_DISPENSER": ("加油机", "fuel dispenser"),
        "INSTRUMENT_TYPE_TRADE_SCALE": ("电子计价秤", "trade scale"),
        "INSTRUMENT_TYPE_TAXI_METER": ("出租汽车计价器", "taxi meter"),
        "INSTRUMENT_TYPE_WATER_METER": ("水表", "water meter"),
        "INSTRUMENT_TYPE_ELECTRICITY_METER": ("电能表", "electricity meter"),
        "INSTRUMENT_TYPE_GAS_METER": ("燃气表", "gas meter"),
        "INSTRUMENT_TYPE_HEAT_METER": ("热能表", "heat meter"),
        "INSTRUMENT_TYPE_SPHYGMOMANOMETER": ("血压计", "sphygmomanometer"),
        "INSTRUMENT_TYPE_ELECTROCARDIOGRAPH": ("心电图机", "electrocardiograph"),
        "INSTRUMENT_TYPE_CLINICAL_THERMOMETER": ("体温计", "clinical thermometer"),
    },
    "VerificationStatus": {
        "VERIFICATION_STATUS_UNVERIFIED": ("未检定", "unverified"),
        "VERIFICATION_STATUS_VALID": ("有效", "valid"),
        "VERIFICATION_STATUS_DUE_SOON": ("即将到期", "due soon"),
        "VERIFICATION_STATUS_OVERDUE": ("已逾期", "overdue"),
        "VERIFICATION_STATUS_FAILED": ("不合格", "failed"),
    },
    "CommitmentItem": {
        "COMMITMENT_ITEM_VERIFIED_INSTRUMENTS": ("使用检定合格的计量器具", "uses verified instruments only"),
        "COMMITMENT_ITEM_NO_CHEATING_DEVICES": (
            "不使用作弊器具、不破坏计量器具",
            "no cheating devices or tampering",
        ),
        "COMMITMENT_ITEM_ACCURATE_MEASUREMENT": (
            "计量准确，不缺斤短两",
            "accurate measurement, no short weight",
        ),
        "COMMITMENT_ITEM_HONEST_NET_CONTENT": ("定量包装商品净含量合格", "honest net content"),
        "COMMITMENT_ITEM_PUBLISH_INSTRUMENT_INFORMATION": (
            "公示计量器具及检定信息",
            "publishes its instruments and their verification",
        ),
        "COMMITMENT_ITEM_ACCEPT_SUPERVISION": (
            "接受社会和政府监督，缺量赔付",
            "accepts supervision, compensates",
        ),
    },
    "CommitmentState": {
        "COMMITMENT_STATE_SCHEDULED": ("未生效", "scheduled"),
        "COMMITMENT_STATE_ACTIVE": ("有效", "active"),
        "COMMITMENT_STATE_EXPIRED": ("已到期", "expired"),
        "COMMITMENT_STATE_WITHDRAWN": ("已撤回", "withdrawn"),
    },
    "InspectionOutcome": {
        "INSPECTION_OUTCOME_COMPLIANT": ("合格", "compliant"),
        "INSPECTION_OUTCOME_MINOR_VIOLATION": ("轻微违法", "minor violation"),
        "INSPECTION_OUTCOME_MAJOR_VIOLATION": ("一般违法", "major violation"),
        "INSPECTION_OUTCOME_SERIOUS_VIOLATION": ("严重违法", "serious violation"),
    },
    "InspectionState": {
        "INSPECTION_STATE_PLANNED": ("待检查", "planned"),
        "INSPECTION_STATE_COMPLETED": ("已完成", "completed"),
        "INSPECTION_STATE_RECTIFYING": ("整改中", "rectifying"),
        "INSPECTION_STATE_RECTIFICATION_OVERDUE": ("整改逾期", "rectification overdue"),
        "INSPECTION_STATE_RECTIFIED": ("已整改", "rectified"),
    },
    "FindingStatus": {
        "VERIFICATION_STATUS_VALID": ("检定有效", "valid"),
        "VERIFICATION_STATUS_OVERDUE": ("超期未检", "overdue"),
        "VERIFICATION_STATUS_FAILED": ("不合格", "failed"),
    },
    "DeclarationCheck": {
        "DECLARATION_CHECK_CONFIRMED": ("声明属实", "confirmed"),
        "DECLARATION_CHECK_FALSE": ("声明不实", "false"),
    },
    "ComplaintCategory": {
        "COMPLAINT_CATEGORY_SHORT_WEIGHT_OR_MEASURE": ("缺斤短两", "short weight or measure"),
        "COMPLAINT_CATEGORY_CHEATING_INSTRUMENT": ("作弊器具", "cheating instrument"),
        "COMPLAINT_CATEGORY_UNVERIFIED_OR_OVERDUE_INSTRUMENT": ("未检或超期器具", "unverified or overdue"),
        "COMPLAINT_CATEGORY_NET_CONTENT_SHORTFALL": ("净含量不足", "net-content shortfall"),
        "COMPLAINT_CATEGORY_FALSE_DATA_OR_CERTIFICATE": ("虚假数据或证书", "false data or certificate"),
        "COMPLAINT_CATEGORY_OTHER": ("其他", "other"),
    },
    "ComplaintState": {
        "COMPLAINT_STATE_RECEIVED": ("已登记", "received"),
        "COMPLAINT_STATE_ACCEPTED": ("已受理", "accepted"),
        "COMPLAINT_STATE_REJECTED": ("不予受理", "rejected"),
        "COMPLAINT_STATE_INVESTIGATING": ("调查中", "investigating"),
        "COMPLAINT_STATE_RESOLVED": ("已办结", "resolved"),
        "COMPLAINT_STATE_CLOSED": ("已关闭", "closed"),
    },
    "ComplaintSeverity": {
        "COMPLAINT_SEVERITY_MINOR": ("轻微", "minor"),
        "COMPLAINT_SEVERITY_MAJOR": ("一般", "major"),
        "COMPLAINT_SEVERITY_SERIOUS": ("严重", "serious"),
    },
}

MESSAGES: dict[str, tuple[str, str]] = {
    # the frame
    "app.name": ("诚信计量分类监管", "Metrology integrity supervision"),
    "app.tagline": (
        "诚信计量 · 分类监管 · 双随机一公开",
        "Integrity grades, risk-based inspection, public results",
    ),
    "nav.home": ("首页", "Home"),
    "nav.dashboard": ("监管概览", "Dashboard"),
    "nav.risk": ("风险名单", "Risk list"),
    "nav.plans": ("抽查计划", "Inspection plans"),
    "nav.appeals": ("申诉", "Appeals"),
    "nav.complaints": ("投诉举报", "Complaints"),
    "nav.repairs": ("信用修复", "Credit repair"),
    "nav.inspections": ("我的检查任务", "My inspections"),
    "nav.my_grade": ("我的等级", "My grade"),
    "nav.commitment": ("诚信承诺", "Commitment"),
    "nav.capability": ("计量能力声明", "Capability"),
    "nav.instruments": ("强检器具", "Instruments"),
    "nav.appeal": ("等级申诉", "Appeal"),
    "nav.results": ("抽查结果公示", "Published results"),
    "nav.codes": ("承诺码查询", "Look up a code"),
    "nav.sign_in": ("登录", "Sign in"),
    "nav.sign_out": ("退出", "Sign out"),
    "nav.language": ("English", "中文"),
    "nav.skip": ("跳到正文", "Skip to content"),
    "role.regulator": ("监管人员", "Regulator"),
    "role.inspector": ("执法人员", "Inspector"),
    "role.enterprise": ("经营者", "Enterprise"),
    "role.system": ("系统", "System"),
    "role.public": ("公众", "Public"),
    "signed_in_as": ("当前身份", "Signed in as"),
    # common
    "common.submit": ("提交", "Submit"),
    "common.search": ("查询", "Search"),
    "common.reset": ("重置", "Reset"),
    "common.any": ("全部", "Any"),
    "common.next": ("下一页", "Next page"),
    "common.first": ("第一页", "First page"),
    "common.none": ("暂无", "None"),
    "common.yes": ("是", "Yes"),
    "common.no": ("否", "No"),
    "common.back": ("返回", "Back"),
    "common.details": ("详情", "Details"),
    "common.reason": ("理由", "Reason"),
    "common.state": ("状态", "State"),
    "common.date": ("日期", "Date"),
    "common.time": ("时间", "Time"),
    "common.count": ("数量", "Count"),
    "common.region": ("行政区划", "Region"),
    "common.industry": ("行业代码", "Industry"),
    "common.subject_type": ("主体类型", "Subject type"),
    "common.level": ("等级", "Grade"),
    "common.enterprise": ("企业", "Enterprise"),
    "common.uscc": ("统一社会信用代码", "USCC"),
    "common.name": ("名称", "Name"),
    "common.score": ("分值", "Score"),
    "common.probability": ("违法概率", "Violation probability"),
    "common.provisional": ("暂定", "Provisional"),
    "common.as_of": ("评级时点", "As of"),
    "common.outcome": ("检查结论", "Outcome"),
    "common.total": ("合计", "Total"),
    "common.saved": ("已保存。", "Saved."),
    "common.china_time": ("时间均为北京时间。", "Times are China time (UTC+8)."),
    "common.not_available": (
        "该功能所需的服务接口尚未上线。",
        "The service API this needs is not available yet.",
    ),
}
MESSAGES.update(PAGES)

# Enums of the workflows issue's RPCs, labelled once the generated code has them.
_LATER: dict[str, tuple[str, dict[str, tuple[str, str]]]] = {
    "CreditRepairApplicationState": (
        "CreditRepairApplicationState",
        {
            "CREDIT_REPAIR_APPLICATION_STATE_PENDING": ("待审核", "pending"),
            "CREDIT_REPAIR_APPLICATION_STATE_GRANTED": ("已准予", "granted"),
            "CREDIT_REPAIR_APPLICATION_STATE_REFUSED": ("不予修复", "refused"),
        },
    ),
    "OverrideReviewAction": (
        "OverrideReviewAction",
        {
            "OVERRIDE_REVIEW_ACTION_CONFIRM": ("确认", "confirmed"),
            "OVERRIDE_REVIEW_ACTION_SHORTEN": ("缩短", "shortened"),
            "OVERRIDE_REVIEW_ACTION_LIFT": ("撤销", "lifted"),
        },
    ),
}
for _name, (_type, _labels) in _LATER.items():
    if hasattr(S, _type):
        ENUM_TYPES[_name] = getattr(S, _type)
        ENUMS[_name] = _labels
