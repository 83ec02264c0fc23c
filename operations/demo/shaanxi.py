"""The shape of the demo province: Shaanxi's ten cities and some of their counties (GB/T 2260), the
sector mix, sizes and the instruments each kind of enterprise uses. Figures are plausible, not official:
city weights follow the 2020 census populations (millions); the sector and size mixes are estimates.
"""

from __future__ import annotations

from dataclasses import dataclass

from integrity.enterprises.v1 import enterprises_pb2 as pb

# City code -> (name, population in millions, some county-level divisions).
CITIES: dict[str, tuple[str, float, tuple[str, ...]]] = {
    "610100": ("西安", 12.95, ("610102", "610103", "610104", "610111", "610112", "610113", "610116")),
    "610200": ("铜川", 0.70, ("610202", "610203", "610204")),
    "610300": ("宝鸡", 3.32, ("610302", "610303", "610304", "610323")),
    "610400": ("咸阳", 3.96, ("610402", "610403", "610404", "610481")),
    "610500": ("渭南", 4.69, ("610502", "610503", "610523", "610581")),
    "610600": ("延安", 2.28, ("610602", "610603", "610621")),
    "610700": ("汉中", 3.21, ("610702", "610703", "610722")),
    "610800": ("榆林", 3.62, ("610802", "610803", "610881")),
    "610900": ("安康", 2.49, ("610902", "610921", "610922")),
    "611000": ("商洛", 2.04, ("611002", "611021", "611024")),
}  # fmt: skip

SIZE_MIX: dict[int, float] = {
    pb.SIZE_CLASS_MICRO: 0.55,
    pb.SIZE_CLASS_SMALL: 0.30,
    pb.SIZE_CLASS_MEDIUM: 0.12,
    pb.SIZE_CLASS_LARGE: 0.03,
}
# How many more instruments (and customers, hence complaints) a size class has than a micro firm.
SIZE_SCALE: dict[int, float] = {
    pb.SIZE_CLASS_MICRO: 1.0,
    pb.SIZE_CLASS_SMALL: 1.6,
    pb.SIZE_CLASS_MEDIUM: 3.0,
    pb.SIZE_CLASS_LARGE: 6.0,
}


@dataclass(frozen=True)
class Sector:
    """A kind of enterprise: who it is, what it is called and which instruments it uses."""

    key: str
    share: float
    subject_type: int
    industry_codes: tuple[str, ...]
    name_suffixes: tuple[str, ...]
    # (instrument type, instruments a micro firm has at least, at most)
    instruments: tuple[tuple[int, int, int], ...]
    complaints_per_year: float  # for an average-integrity micro firm
    net_content: bool = False  # its products are sampled for net content
    declares_capability: bool = False


SECTORS: tuple[Sector, ...] = (
    Sector(
        "fuel", 0.08, pb.SUBJECT_TYPE_TRADE_INSTRUMENT_USER, ("F5265",), ("加油站", "石化加油站"),
        ((pb.INSTRUMENT_TYPE_FUEL_DISPENSER, 2, 6),), 0.30,
    ),
    Sector(
        "retail", 0.34, pb.SUBJECT_TYPE_TRADE_INSTRUMENT_USER, ("F5212", "F5221", "F5223"),
        ("超市", "农贸市场", "粮油店", "生鲜店"), ((pb.INSTRUMENT_TYPE_TRADE_SCALE, 1, 4),), 0.20,
    ),
    Sector(
        "taxi", 0.03, pb.SUBJECT_TYPE_TRADE_INSTRUMENT_USER, ("G5411",), ("出租汽车公司",),
        ((pb.INSTRUMENT_TYPE_TAXI_METER, 3, 8),), 0.25,
    ),
    Sector(
        "prepackaged", 0.20, pb.SUBJECT_TYPE_PREPACKAGED_GOODS_PRODUCER, ("C1391", "C1469", "C1512"),
        ("食品有限公司", "粮油加工厂", "饮品有限公司"), ((pb.INSTRUMENT_TYPE_TRADE_SCALE, 1, 3),), 0.08,
        net_content=True, declares_capability=True,
    ),
    Sector(
        "instrument_maker", 0.04, pb.SUBJECT_TYPE_INSTRUMENT_MANUFACTURER_OR_REPAIRER, ("C4014", "C4016"),
        ("衡器有限公司", "仪表维修部"), ((pb.INSTRUMENT_TYPE_TRADE_SCALE, 1, 2),), 0.05,
        declares_capability=True,
    ),
    Sector(
        "testing", 0.03, pb.SUBJECT_TYPE_CALIBRATION_OR_TESTING_INSTITUTION, ("M7452",),
        ("检测技术有限公司", "计量校准中心"), ((pb.INSTRUMENT_TYPE_TRADE_SCALE, 1, 2),), 0.03,
        declares_capability=True,
    ),
    Sector(
        "medical", 0.12, pb.SUBJECT_TYPE_MEDICAL_INSTITUTION, ("Q8411", "Q8421", "Q8423"),
        ("医院", "社区卫生服务中心", "诊所"),
        (
            (pb.INSTRUMENT_TYPE_SPHYGMOMANOMETER, 1, 3),
            (pb.INSTRUMENT_TYPE_CLINICAL_THERMOMETER, 1, 3),
            (pb.INSTRUMENT_TYPE_ELECTROCARDIOGRAPH, 0, 1),
        ),
        0.06, declares_capability=True,
    ),
    Sector(
        "utility", 0.03, pb.SUBJECT_TYPE_UTILITY, ("D4610", "D4511"), ("供水有限公司", "燃气有限公司"),
        ((pb.INSTRUMENT_TYPE_WATER_METER, 2, 5), (pb.INSTRUMENT_TYPE_GAS_METER, 1, 4)), 0.15,
        declares_capability=True,
    ),
    Sector(
        "other", 0.13, pb.SUBJECT_TYPE_OTHER, ("H6110", "F5261"), ("商贸有限公司", "餐饮有限公司"),
        ((pb.INSTRUMENT_TYPE_TRADE_SCALE, 0, 2),), 0.05,
    ),
)  # fmt: skip

TRADE_NAMES = (
    "长安", "秦川", "华山", "渭水", "汉江", "延河", "金泰", "鑫源", "丰登", "瑞祥", "宏达", "永兴", "丝路",
    "大唐", "曲江", "兴盛", "康泰", "诚信", "惠民", "福顺", "泰和", "同济", "民生", "绿源", "天成",
)  # fmt: skip
