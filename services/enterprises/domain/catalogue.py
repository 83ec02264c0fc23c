"""Catalogue of instruments under mandatory verification (强制检定) and their default cycles. Pure.

Cycles follow the usual national verification regulations (JJG): dispensers every six months, trade
and medical instruments yearly; household meters (民用四表) are verified once and replaced when their
service life ends, so their "cycle" is that life. A verification may set its own next due date.
"""

from __future__ import annotations

from dataclasses import dataclass

from integrity.enterprises.v1 import enterprises_pb2 as pb


@dataclass(frozen=True)
class InstrumentKind:
    label: str
    cycle_months: int


INSTRUMENT_KINDS: dict[int, InstrumentKind] = {
    pb.INSTRUMENT_TYPE_FUEL_DISPENSER: InstrumentKind("燃油加油机 fuel dispenser", 6),
    pb.INSTRUMENT_TYPE_TRADE_SCALE: InstrumentKind("电子计价秤 trade scale", 12),
    pb.INSTRUMENT_TYPE_TAXI_METER: InstrumentKind("出租汽车计价器 taxi meter", 12),
    pb.INSTRUMENT_TYPE_WATER_METER: InstrumentKind("水表 household water meter", 72),
    pb.INSTRUMENT_TYPE_ELECTRICITY_METER: InstrumentKind("电能表 household electricity meter", 96),
    pb.INSTRUMENT_TYPE_GAS_METER: InstrumentKind("燃气表 household gas meter", 120),
    pb.INSTRUMENT_TYPE_HEAT_METER: InstrumentKind("热量表 household heat meter", 72),
    pb.INSTRUMENT_TYPE_SPHYGMOMANOMETER: InstrumentKind("血压计 sphygmomanometer", 12),
    pb.INSTRUMENT_TYPE_ELECTROCARDIOGRAPH: InstrumentKind("心电图机 electrocardiograph", 12),
    pb.INSTRUMENT_TYPE_CLINICAL_THERMOMETER: InstrumentKind("医用体温计 clinical thermometer", 12),
}


def kind_of(instrument_type: int) -> InstrumentKind | None:
    return INSTRUMENT_KINDS.get(instrument_type)
