"""What differs between real places, as knobs of the demo province (issue 11): the base violation rate, how
much riskier a first inspection is, base risk by industry and subject type, the severity mix, follow-up
re-inspections, gaps in the record, how often enterprises are inspected and whether results count their
findings by severity. The defaults are the original generator: its events stay byte for byte the same
(the knobs draw from a random stream of their own, and only when they are turned).

`PROVINCES` are the provinces of the robustness suite (`integrity model suite`, REPORT of issue 11, A4):
the default, a high violation rate, NYC-like follow-ups with a truncated and gappy record, base risk
carried by attributes, and a severity mix heavy in serious violations (with counted findings).
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass

from integrity.enterprises.v1 import enterprises_pb2 as epb

BASE_LOGIT = -4.3
ROUTINE_INSPECTIONS_PER_YEAR = 0.4  # double-random draws: most enterprises are inspected every few years


@dataclass(frozen=True)
class Knobs:
    """Defaults = the original generator.

    base_logit         intercept of an inspection's violation logit (-4.3: about 6 % of inspections find
                       a violation; -1.2 about 40 %)
    first_logit        added to the logit of an enterprise's first inspection (first visits riskier)
    sector_scale       multiplies the sector's logit (base risk by sector and so by subject type)
    industry_sd        standard deviation of a fixed logit offset per industry code
    subject_logit      an extra logit per SubjectType number
    serious_logit      intercept of P(serious | violation) = sigmoid(serious_logit + 0.8 z) (-2.6)
    major_share        P(major | a violation that is not serious) (0.3)
    followup_prob      after a violation, P(a follow-up inspection 10-60 days later) (0: none)
    followup_logit     added to the logit of a follow-up (rectified since: it usually passes)
    record_start_years inspections, complaints and verifications of the first years are not on record (a
                       migration that kept only recent years; 0: all kept)
    record_drop_share  share of inspections missing from the record at random (the visit happened and
                       shaped the enterprise's story; no event was recorded)
    routine_per_year   routine double-random inspections a year (0.4)
    finding_counts     results count their findings by severity (minor/major/serious_findings)
    """

    base_logit: float = BASE_LOGIT
    first_logit: float = 0.0
    sector_scale: float = 1.0
    industry_sd: float = 0.0
    subject_logit: tuple[tuple[int, float], ...] = ()
    serious_logit: float = -2.6
    major_share: float = 0.3
    followup_prob: float = 0.0
    followup_logit: float = -1.0
    record_start_years: float = 0.0
    record_drop_share: float = 0.0
    routine_per_year: float = ROUTINE_INSPECTIONS_PER_YEAR
    finding_counts: bool = False


DEFAULT_KNOBS = Knobs()


def industry_offset(seed: int, code: str, sd: float) -> float:
    """A fixed logit offset per industry code (the same for every enterprise of that code)."""
    if sd <= 0:
        return 0.0
    return random.Random(f"industry:{seed}:{code}").gauss(0.0, sd)


def poisson(rng: random.Random, mean: float) -> int:
    """A Poisson draw (Knuth's method: the means here are small)."""
    limit, count, product = math.exp(-mean), 0, rng.random()
    while product > limit:
        count += 1
        product *= rng.random()
    return count


PROVINCES: dict[str, Knobs] = {
    # The generator as it is: about 6 % of inspections find a violation, 3 % a major or serious one.
    "P0-default": DEFAULT_KNOBS,
    # A high base rate (about 40 %), violations more often major, strong sector and industry effects.
    "P1-high-rate": Knobs(base_logit=-1.2, major_share=0.5, sector_scale=3.0, industry_sd=0.5),
    # NYC-like: a follow-up after most violations (which usually passes), a riskier first inspection, a
    # record that starts two years late and misses 15 % of inspections, more routine inspections.
    "P2-followups-gaps": Knobs(
        base_logit=-2.0,
        first_logit=0.8,
        followup_prob=0.8,
        followup_logit=-1.0,
        record_start_years=2.0,
        record_drop_share=0.15,
        routine_per_year=0.6,
    ),
    # Base risk carried by attributes: industry and subject type matter most; few inspections.
    "P3-attributes": Knobs(
        base_logit=-2.6,
        industry_sd=0.8,
        sector_scale=4.0,
        subject_logit=(
            (epb.SUBJECT_TYPE_TRADE_INSTRUMENT_USER, 0.6),
            (epb.SUBJECT_TYPE_MEDICAL_INSTITUTION, -0.8),
        ),
        routine_per_year=0.3,
        first_logit=0.5,
    ),
    # A severity mix heavy in serious violations, a moderate rate, results that count their findings.
    "P4-serious-heavy": Knobs(
        base_logit=-2.4, serious_logit=-0.8, major_share=0.5, industry_sd=0.3, finding_counts=True
    ),
}
# Enterprises per province in the suite (REPORT A4): enough for differences of a few thousandths of AUC.
SUITE_ENTERPRISES = {
    "P0-default": 20000,
    "P1-high-rate": 10000,
    "P2-followups-gaps": 12000,
    "P3-attributes": 20000,
    "P4-serious-heavy": 12000,
}
