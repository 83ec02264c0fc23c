"""The instruments of an enterprise under mandatory verification, and their verifications: a dishonest
enterprise verifies late and fails more, so more of its instruments are overdue or failed at any moment
(which in turn makes an inspection find a violation more likely)."""

from __future__ import annotations

import math
from datetime import date, datetime, timedelta

from integrity.enterprises.v1 import enterprises_pb2 as epb
from integrity.events.v1 import events_pb2
from operations.demo.shaanxi import SIZE_SCALE
from operations.demo.story import DAY, ENTERPRISES_SOURCE, Instrument, Story, at, sigmoid


class InstrumentsStory(Story):
    def install_instruments(self) -> None:
        """Instruments and their verifications: a dishonest enterprise verifies late, and fails more."""
        rng, z = self.rng, self.z
        scale = SIZE_SCALE[self.size]
        late_probability = sigmoid(-1.2 + 1.8 * z)
        fail_probability = sigmoid(-3.5 + 0.8 * z)
        for instrument_type, low, high in self.sector.instruments:
            count = min(round(rng.randint(low, high) * scale), 30)
            cycle_days = _cycle_months(instrument_type) * 30.44
            for serial in range(count):
                installed = self.active_from + timedelta(minutes=5 + serial)
                instrument = Instrument(
                    f"enterprises/{self.uscc}/instruments/{self.new_record_id()}", instrument_type
                )
                # Verified some time in the last cycle before the records begin.
                verified = (installed - timedelta(days=rng.uniform(0, cycle_days * 0.9))).date()
                due = verified + timedelta(days=cycle_days)
                self.emit(
                    installed,
                    ENTERPRISES_SOURCE,
                    "instrument_registered",
                    events_pb2.InstrumentRegistered(
                        instrument=epb.Instrument(
                            name=instrument.name,
                            type=instrument_type,  # type: ignore[arg-type]
                            serial_number=f"SN{rng.getrandbits(32):08X}",
                            location=f"{self.display_name}",
                            usage=epb.INSTRUMENT_USAGE_IN_USE,
                            last_verification=self.verification(verified, True, due),
                            verification_cycle_months=_cycle_months(instrument_type),
                        )
                    ),
                )
                while at(due, 0) < self.end:
                    if rng.random() < late_probability:
                        done = due + timedelta(days=1 + rng.expovariate(1 / (50 * math.exp(0.6 * z))))
                        instrument.bad.append((at(due, 0), at(done, 0), "overdue"))
                    else:
                        done = due - timedelta(days=rng.randint(0, 20))
                    passed = rng.random() >= fail_probability
                    if not passed:  # failed: out of use in law until repaired and verified again
                        repaired = done + timedelta(days=rng.randint(7, 40))
                        self.record_verification(instrument, done, False, repaired)
                        instrument.bad.append((at(done, 10), at(repaired, 10), "failed"))
                        done = repaired
                    due = done + timedelta(days=cycle_days)
                    self.record_verification(instrument, done, True, due)
                self.instruments.append(instrument)

    def verification(self, verified: date, passed: bool, due: date) -> epb.Verification:
        return epb.Verification(
            verification_date=verified.isoformat(),
            result=epb.VERIFICATION_RESULT_PASS if passed else epb.VERIFICATION_RESULT_FAIL,
            certificate_number=f"JD{verified:%Y}{self.rng.getrandbits(28):08d}",
            next_due_date=due.isoformat(),
        )

    def record_verification(self, instrument: Instrument, verified: date, passed: bool, due: date) -> None:
        moment = max(at(verified, 10 + self.rng.randrange(6)), self.active_from + DAY)
        self.emit(
            moment,
            ENTERPRISES_SOURCE,
            "verification_recorded",
            events_pb2.VerificationRecorded(
                instrument=instrument.name,
                instrument_type=instrument.type,  # type: ignore[arg-type]
                verification=self.verification(verified, passed, due),
            ),
        )

    def bad_share(self, moment: datetime) -> tuple[int, int, int]:
        """(instruments, of which overdue, of which failed) at `moment`."""
        overdue = failed = 0
        for instrument in self.instruments:
            for begin, stop, kind in instrument.bad:
                if begin <= moment < stop:
                    if kind == "failed":
                        failed += 1
                    else:
                        overdue += 1
                    break
        return len(self.instruments), overdue, failed


_CYCLES: dict[int, int] = {}


def _cycle_months(instrument_type: int) -> int:
    if instrument_type not in _CYCLES:
        from services.enterprises.domain.catalogue import kind_of

        kind = kind_of(instrument_type)
        _CYCLES[instrument_type] = kind.cycle_months if kind else 12
    return _CYCLES[instrument_type]
