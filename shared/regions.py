"""Administrative division codes (GB/T 2260): six digits, province / city / county.

Validation is structural (a known provincial-level prefix, two-digit city and county parts); the full
national list of counties is not shipped. Shaanxi's cities carry names for demo data and messages.
"""

from __future__ import annotations

# Provincial-level divisions of GB/T 2260 (first two digits).
PROVINCES: dict[str, str] = {
    "11": "北京市", "12": "天津市", "13": "河北省", "14": "山西省", "15": "内蒙古自治区",
    "21": "辽宁省", "22": "吉林省", "23": "黑龙江省",
    "31": "上海市", "32": "江苏省", "33": "浙江省", "34": "安徽省", "35": "福建省", "36": "江西省",
    "37": "山东省",
    "41": "河南省", "42": "湖北省", "43": "湖南省", "44": "广东省", "45": "广西壮族自治区", "46": "海南省",
    "50": "重庆市", "51": "四川省", "52": "贵州省", "53": "云南省", "54": "西藏自治区",
    "61": "陕西省", "62": "甘肃省", "63": "青海省", "64": "宁夏回族自治区", "65": "新疆维吾尔自治区",
    "71": "台湾省", "81": "香港特别行政区", "82": "澳门特别行政区",
}  # fmt: skip

SHAANXI_CITIES: dict[str, str] = {
    "610100": "西安市", "610200": "铜川市", "610300": "宝鸡市", "610400": "咸阳市", "610500": "渭南市",
    "610600": "延安市", "610700": "汉中市", "610800": "榆林市", "610900": "安康市", "611000": "商洛市",
}  # fmt: skip


def region_problem(code: str) -> str | None:
    """Why `code` is not a GB/T 2260 division code; None when it is well formed."""
    if len(code) != 6 or not code.isascii() or not code.isdigit():
        return "must be six digits (GB/T 2260), e.g. 610112"
    if code[:2] not in PROVINCES:
        return f"{code[:2]!r} is not a provincial-level division of GB/T 2260"
    if code[2:4] == "00" and code[4:] != "00":
        return "a county code needs its city digits (characters 3-4 are 00)"
    return None


def is_valid_region(code: str) -> bool:
    return region_problem(code) is None


def region_prefix(code: str) -> str:
    """The prefix every division inside `code` shares: 610000 -> 61, 610100 -> 6101, 610112 -> 610112."""
    if code.endswith("0000"):
        return code[:2]
    if code.endswith("00"):
        return code[:4]
    return code


def region_contains(parent: str, child: str) -> bool:
    """True when division `child` is `parent` or lies inside it (a province holds its cities and counties)."""
    return child.startswith(region_prefix(parent))
