"""`integrity model train|list|promote|backtest` against a real (SQLite) scoring database, and the
promoted scorecard used by `integrity scoring recompute` and the scoring service."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from operations import catalogue
from operations.cli import main
from operations.demo.province import generate_province
from services.scoring.adapters.policy_file import load_policy
from services.scoring.adapters.unit_of_work import ScoringUnitOfWork
from services.scoring.bootstrap import build_app
from services.scoring.entrypoints.consumer import ScoringEventHandler
from services.scoring.manifest import SERVICE
from shared.cloudevents import to_json_line
from shared.db import make_engine
from shared.migrations import upgrade
from shared.settings import Settings, get_settings

pytestmark = pytest.mark.integration

ENTERPRISES = 400
TOPIC = {
    "//integrity/enterprises": catalogue.ENTERPRISES.publishes,
    "//integrity/complaints": catalogue.COMPLAINTS.publishes,
    "//integrity/inspections": catalogue.INSPECTIONS.publishes,
}


@pytest.fixture(scope="module")
def province() -> list:
    return list(generate_province(ENTERPRISES, seed=5))


@pytest.fixture
def stack(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, province: list):
    url = f"sqlite:///{tmp_path / 'scoring.db'}"
    monkeypatch.setenv("SCORING_DATABASE_URL", url)
    monkeypatch.setenv("INTEGRITY_VAR_DIR", str(tmp_path / "var"))
    get_settings.cache_clear()
    engine = make_engine(url)
    upgrade(engine, SERVICE)  # as `integrity db upgrade` makes it: the service checks the revision
    handler = ScoringEventHandler(load_policy())
    with ScoringUnitOfWork(engine) as uow:
        for enterprise in province:
            for event in enterprise.events:
                handler(uow, event, TOPIC.get(event.source, catalogue.ENTERPRISES.publishes))
        uow.commit()
    yield engine, tmp_path
    engine.dispose()
    get_settings.cache_clear()


def test_train_promote_and_recompute_with_the_promoted_scorecard(stack, capsys) -> None:
    engine, tmp_path = stack
    assert main(["model", "list"]) == 0
    assert "no models yet" in capsys.readouterr().out

    assert main(["model", "train", "--workers", "1"]) == 0
    out = capsys.readouterr().out
    version = out.split("integrity model promote ")[-1].strip()
    assert version.startswith("scorecard-") and "champion" in out and "challenger" in out

    assert main(["model", "promote", "scorecard-19990101-deadbeef"]) == 2
    assert "no model" in capsys.readouterr().err
    assert main(["model", "promote", version]) == 0
    capsys.readouterr()
    assert main(["model", "list"]) == 0
    assert f"* {version}" in capsys.readouterr().out

    assert main(["scoring", "recompute", "--as-of", "2026-10-02", "--no-progress"]) == 0
    with ScoringUnitOfWork(engine) as uow:
        grades = uow.grades.get_many(uow.enterprises.usccs())
    assert grades and {grade.model_version for grade in grades.values()} == {version}

    # The scoring service starts with the promoted scorecard too.
    settings = Settings(var_dir=tmp_path / "var", scoring_database_url=f"sqlite:///{tmp_path / 'scoring.db'}")
    app = build_app(settings)
    servicer = app.servicers[0][1]
    assert servicer.policy.scorecard.version == version


def test_backtest_from_a_history_file_with_a_truth_file(stack, province: list, capsys) -> None:
    _, tmp_path = stack
    history = tmp_path / "history.jsonl"
    history.write_text(
        "".join(to_json_line(event) + "\n" for e in province for event in e.events), encoding="utf-8"
    )
    truth = tmp_path / "province.truth.json"
    truth.write_text(
        json.dumps(
            {
                "enterprises": {
                    e.uscc: {
                        "integrity": e.integrity,
                        "region_code": e.region_code,
                        "size_class": e.size_class,
                    }
                    for e in province
                },
                "inspections": {k: v for e in province for k, v in e.violation_probability.items()},
            }
        ),
        encoding="utf-8",
    )
    code = main(
        ["model", "backtest", "--from", str(history), "--cutoff", "2025-04-01", "--truth", str(truth)]
    )
    out = capsys.readouterr().out
    assert code == 0
    rows = {line[:22].strip() for line in out.splitlines()}  # the ranking column of the table
    for row in ("champion", "challenger", "graded", "graded, no hard rules", "plain logistic", "date order"):
        assert row in rows, row
    assert "oracle" in rows and "label major_or_worse" in out
    # The two rules of the issue are checked on every backtest, with what the hard rules cost.
    assert "champion - plain logistic: " in out and "graded - champion: " in out and "hard rules cost" in out

    # The other label, on the same rows.
    code = main(
        ["model", "backtest", "--from", str(history), "--cutoff", "2025-04-01", "--label", "non_compliant"]
    )
    out = capsys.readouterr().out
    assert code == 0 and "label non_compliant" in out
    assert "plain logistic" in {line[:22].strip() for line in out.splitlines()}
    assert main(["model", "backtest", "--from", str(history), "--cutoff", "2031-01-01"]) == 2
    assert "leaves" in capsys.readouterr().err


@pytest.fixture
def empty_stack(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """A stack's var directory with nothing in it: no database has been created yet."""
    monkeypatch.setenv("INTEGRITY_VAR_DIR", str(tmp_path / "var"))
    for name in ("SCORING", "ENTERPRISES", "COMPLAINTS", "INSPECTIONS"):
        monkeypatch.delenv(f"{name}_DATABASE_URL", raising=False)
    get_settings.cache_clear()
    yield tmp_path / "var"
    get_settings.cache_clear()


def test_training_straight_after_an_import_with_the_stack_not_running(
    empty_stack, province: list, capsys
) -> None:
    # Nothing imported yet: one line saying what to run first, no traceback, no database left behind.
    assert main(["model", "train", "--workers", "1"]) == 2
    error = capsys.readouterr().err.strip().splitlines()[-1]
    assert error.startswith("integrity model train: no history to learn from: import one first")
    assert not (empty_stack / "scoring.db").exists()

    history = empty_stack.parent / "history.jsonl"
    history.write_text("".join(to_json_line(e) + "\n" for p in province for e in p.events), encoding="utf-8")
    assert main(["import", str(history), "--no-progress"]) == 0
    capsys.readouterr()
    # The stack never ran, so scoring has graded nothing: training reads the services' own records.
    assert main(["model", "train", "--workers", "1"]) == 0
    captured = capsys.readouterr()
    assert "the enterprises, complaints and inspections services' records (400 enterprises" in captured.err
    assert "held out to test (--test-from to choose)" in captured.err
    assert "label major_or_worse" in captured.out and "held out to test it" in captured.out
    version = captured.out.split("integrity model promote ")[-1].strip()
    card = json.loads((empty_stack / "models" / version / "card.json").read_text(encoding="utf-8"))
    assert card["grades"]["enterprises"] > 0 and card["label"] == "major_or_worse"

    # The cut-offs again, on the population of another day: shown before and after the hard rules, stored.
    assert main(["model", "cutoffs", version, "--as-of", "2026-01-01", "--dry-run", "--workers", "1"]) == 0
    shown = capsys.readouterr().out
    assert "Shares by score alone: A" in shown and "as graded (hard rules" in shown and "dry run" in shown
    assert main(["model", "cutoffs", version, "--as-of", "2026-01-01", "--workers", "1"]) == 0
    capsys.readouterr()
    card = json.loads((empty_stack / "models" / version / "card.json").read_text(encoding="utf-8"))
    assert card["grades"]["population_as_of"].startswith("2026-01-01")
    assert main(["model", "promote", version]) == 0
    assert "Cut-offs A >= " in capsys.readouterr().out


def test_the_robustness_suite_prints_every_ranking_and_the_rules(capsys) -> None:
    code = main(
        ["model", "suite", "--provinces", "P1-high-rate", "--labels", "non_compliant", "--scale", "0.2"]
    )
    out = capsys.readouterr().out
    assert code in (0, 1) and (code == 0) == ("Both hold everywhere" in out)
    header = next(line for line in out.splitlines() if line.startswith("| province"))
    for ranking in ("champion", "challenger", "graded", "graded, no hard rules", "plain logistic", "oracle"):
        assert f"| {ranking} |" in header
    assert "| P1-high-rate | non_compliant (" in out


def test_the_exported_scorecard_is_the_policy_form_and_grades_as_the_promoted_one(
    empty_stack, province: list, capsys
) -> None:
    import tomllib
    from datetime import UTC, datetime

    from services.scoring.adapters.policy_file import DEFAULT_POLICY_PATH
    from services.scoring.domain.features import compute_features
    from services.scoring.domain.grading import grade_of
    from services.scoring.domain.policy import PolicyError

    history = empty_stack.parent / "history.jsonl"
    history.write_text("".join(to_json_line(e) + "\n" for p in province for e in p.events), encoding="utf-8")
    code = main(["model", "train", "--from", str(history), "--test-from", "2025-10-01", "--workers", "1"])
    captured = capsys.readouterr()
    assert code == 0
    # The window is the one asked for, stated as such (no silent share held out).
    assert "learning from the inspections before 2025-10-01" in captured.err
    assert "latest 20%" not in captured.err
    version = captured.out.split("integrity model promote ")[-1].strip()
    exported = empty_stack / "models" / version / "scorecard.toml"

    # The export is a [scorecard] table of the policy's own form: label, resolved cut-offs, bins with
    # points and reasons.
    with exported.open("rb") as file:
        table = tomllib.load(file)["scorecard"]
    assert table["version"] == version and table["label"] == "major_or_worse"
    assert table["cutoffs"]["A"] > table["cutoffs"]["B"] > table["cutoffs"]["C"]
    features = {entry["feature"]: entry for entry in table["features"]}
    # Only features the model card says are used (one whose points all round to 0 is left out); the
    # others are on the card with why not.
    card = json.loads((exported.parent / "card.json").read_text(encoding="utf-8"))
    status = {entry["feature"]: entry["status"] for entry in card["features"]}
    assert set(features) <= {name for name, what in status.items() if what == "used"}
    assert "industry" in status and "days_since_last_inspection" in features

    # Pasted into the policy file in place of its own scorecard, it loads through the policy loader and
    # grades every enterprise exactly as the promoted scorecard does.
    policy_text = DEFAULT_POLICY_PATH.read_text(encoding="utf-8")
    standalone = empty_stack.parent / "policy-learned.toml"
    standalone.write_text(
        policy_text[: policy_text.index("\n[scorecard]\n") + 1] + exported.read_text(), "utf-8"
    )
    pasted = load_policy(standalone)
    assert main(["model", "promote", version]) == 0
    capsys.readouterr()
    promoted = load_policy(scorecard_path=exported)  # what the service loads for the promoted model
    assert pasted.scorecard.version == version and pasted.label == promoted.label
    as_of = datetime(2026, 10, 2, tzinfo=UTC)
    levels = set()
    for enterprise in province[:120]:
        features_now = compute_features(enterprise.events, as_of)
        one, other = (
            grade_of(pasted, features_now, as_of, None),
            grade_of(promoted, features_now, as_of, None),
        )
        assert (one.level, one.score, one.model_version) == (other.level, other.score, other.model_version)
        levels.add(one.level)
    assert len(levels) >= 3  # the learned cut-offs spread the enterprises over the grades

    # An edited export that breaks monotonicity is refused at promotion, with what is wrong, and the
    # promoted model stays the same.
    broken = empty_stack / "models" / "scorecard-broken"
    broken.mkdir()
    text = exported.read_text(encoding="utf-8")
    entry = next(
        e
        for e in table["features"]
        if e.get("risk") in ("increasing", "decreasing") and len(set(e.get("points", []))) > 2
    )
    flipped = list(reversed(entry["points"]))
    (broken / "scorecard.toml").write_text(_replace_points(text, entry["feature"], flipped), encoding="utf-8")
    assert main(["model", "promote", "scorecard-broken"]) == 2
    error = capsys.readouterr().err
    assert error.startswith("integrity model promote: invalid policy")
    assert f"({entry['feature']}).points: must be monotone in risk" in error
    assert main(["model", "list"]) == 0
    assert f"* {version}" in capsys.readouterr().out
    with pytest.raises(PolicyError):
        load_policy(scorecard_path=broken / "scorecard.toml")


def _replace_points(text: str, feature: str, points: list[int]) -> str:
    """The scorecard text with one feature's points replaced (its bins stay)."""
    blocks = text.split("\n[[scorecard.features]]\n")
    for number, block in enumerate(blocks):
        if f'feature = "{feature}"' in block:
            lines = [
                f"points = {points}" if line.startswith("points = ") else line for line in block.splitlines()
            ]
            blocks[number] = "\n".join(lines) + ("\n" if block.endswith("\n") else "")
    return "\n[[scorecard.features]]\n".join(blocks)
