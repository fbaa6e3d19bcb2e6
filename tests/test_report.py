"""The run report renders from a recorded run folder, embeds its plots, and shows numbers only."""

from __future__ import annotations

import base64
import json
import re

import pytest

from server.report import main, write_report

SECRET = "Jane Roe MRN 12345678 chest pain"


def _round(n: int, stage: str, stage_index: int, eval_acc: float | None) -> dict:
    hospitals = {f"hospital-{h}": {"train.train-loss": 2.0 - 0.1 * n - 0.05 * h, "train.num-examples": 10 + h,
                                   "train.dp-epsilon": 0.5 * n + h} for h in range(2)}
    evaluate = {}
    if eval_acc is not None:
        for h in range(2):
            hospitals[f"hospital-{h}"].update({"evaluate.eval-loss": 1.9 - 0.1 * n,
                                               "evaluate.eval-answer-accuracy": eval_acc + 0.1 * h})
        evaluate = {"eval-loss": 1.9 - 0.1 * n, "eval-answer-accuracy": eval_acc + 0.05}
    return {"server_round": n, "stage": stage, "stage_index": stage_index, "train": {"train-loss": 2.0 - 0.1 * n},
            "evaluate": evaluate, "hospitals": hospitals, "rejected": [], "bytes_down": 2_000_000,
            "bytes_up": 1_900_000, "seconds": 3.0, "client_train_seconds": 1.0}


def _card(read: int, after_quality: int, after_dedup: int) -> dict:
    """A data card's metrics as a hospital sends them (client/data/card.py), for notes only."""
    card = {"data.files.notes": 2, "data.bad-input.malformed-json": 1, "data.identifiers.PERSON": 7,
            "data.identifiers.residual-rate": 0.004}
    for step, records_in, out in (("load", read, read), ("deid", read, read), ("quality", read, after_quality),
                                  ("dedup", after_quality, after_dedup)):
        card |= {f"data.{step}.notes.in": records_in, f"data.{step}.notes.out": out}
    if after_quality < read:
        card["data.quality.notes.dropped.too-short"] = read - after_quality
    if after_dedup < after_quality:
        card["data.dedup.notes.dropped.exact-duplicate"] = after_quality - after_dedup
    heldout = after_dedup // 10
    return card | {"data.split.notes.train": after_dedup - heldout, "data.split.notes.heldout": heldout,
                   "data.tokens.cp.train": 100 * after_dedup}


@pytest.fixture
def run_dir(tmp_path):
    rounds = [_round(1, "cp", 0, None), _round(2, "cp", 0, 0.4), _round(3, "ift", 1, 0.5), _round(4, "ift", 1, 0.6)]
    (tmp_path / "metrics.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rounds))
    cards = {"hospital-0": {**_card(read=50, after_quality=46, after_dedup=40), "leak": SECRET},
             "hospital-1": _card(read=30, after_quality=30, after_dedup=25)}
    privacy = {"target_epsilon": 8.0, "hospitals": {"hospital-0": {"epsilon": 2.5, "delta": 1e-5, "steps": 12,
                                                                   "round": 4}}}
    (tmp_path / "summary.json").write_text(json.dumps({"rounds": 4, "stages": ["cp", "ift"], "data_cards": cards,
                                                       "bytes_down_total": 8e6, "bytes_up_total": 7.6e6,
                                                       "privacy": privacy}))
    (tmp_path / "config.json").write_text(json.dumps({"train.rounds": 2, "schedule.paradigm": "cp-ift"}))
    return tmp_path


def test_report_is_self_contained_with_every_plot(run_dir):
    page = write_report(run_dir).read_text()
    images = re.findall(r'<img src="data:image/png;base64,([A-Za-z0-9+/=]+)">', page)
    assert len(images) == 4  # loss, epsilon, bytes, evaluation
    assert all(base64.b64decode(i).startswith(b"\x89PNG") for i in images)
    assert "src=\"http" not in page and "<script" not in page  # nothing fetched when opened
    for expected in ("hospital-0", "hospital-1", "schedule.paradigm", "cp-ift", "final eval-answer-accuracy"):
        assert expected in page


def test_report_never_shows_non_numeric_values_from_hospitals(run_dir):
    page = write_report(run_dir).read_text()
    assert "Jane" not in page and "12345678" not in page and "leak" not in page


def test_report_without_privacy_or_evaluation_says_so(run_dir):
    rows = [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]
    for row in rows:
        row["evaluate"] = {}
        for metrics in row["hospitals"].values():
            metrics.pop("train.dp-epsilon")
    (run_dir / "metrics.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    summary = json.loads((run_dir / "summary.json").read_text())
    summary["privacy"] = {"hospitals": {}}
    (run_dir / "summary.json").write_text(json.dumps(summary))
    page = write_report(run_dir).read_text()
    assert "differential privacy off" in page and "No evaluation metrics" in page
    assert page.count("data:image/png") == 2


def test_report_shows_the_privacy_audit_when_one_was_run(run_dir):
    assert "No privacy audit" in write_report(run_dir).read_text()
    (run_dir / "privacy-audit.json").write_text(json.dumps({
        "planted_exposure": 5.125, "reference_exposure": 1.25, "max_exposure": 6.658, "membership_auc": 0.625,
        "members": 24, "non_members": 6}))
    page = write_report(run_dir).read_text()
    assert "No privacy audit" not in page
    for expected in ("5.125", "1.25", "6.658", "0.625", "24 / 6"):
        assert expected in page


def test_cli_regenerates_report_and_names_a_bad_folder(run_dir, tmp_path, capsys):
    out = tmp_path / "elsewhere.html"
    main([str(run_dir), "--out", str(out)])
    assert out.is_file() and str(out) in capsys.readouterr().out
    with pytest.raises(FileNotFoundError, match="metrics.jsonl"):
        main([str(tmp_path / "missing")])


def test_data_card_is_a_funnel_per_stage_with_drop_reasons(run_dir):
    page = write_report(run_dir).read_text()
    funnel = page[page.index("continued pretraining (cp)"):page.index("Inputs and de-identification")]
    header = re.findall(r"<th>([^<]+)</th>", funnel)
    assert header == ["hospital", "read", "after de-identification", "after quality filter", "after de-duplication",
                      "train / held out", "train tokens"]
    rows = {row.split("</td>")[0]: re.sub(r"<[^>]+>", " ", row).split()
            for row in re.findall(r"<tr><td>(hospital-\d.*?)</tr>", funnel)}
    # hospital-0: 50 read, 4 too short, 6 duplicates, 36 + 4 split
    assert rows["hospital-0"] == ["hospital-0", "50", "50", "46", "−too-short", "4", "40", "−exact-duplicate", "6",
                                  "36", "/", "4", "4000"]
    assert rows["hospital-1"][1:4] == ["30", "30", "30"]
    assert "instruction tuning" not in page  # no hospital sent conversation counts: no empty funnel
    inputs = page[page.index("Inputs and de-identification"):]
    assert "malformed-json 1" in inputs and "PERSON 7" in inputs and "0.004" in inputs


def test_privacy_spending_sits_beside_the_audit(run_dir):
    page = write_report(run_dir).read_text()
    side = page[page.index('<div class="side">'):page.index("<h2>Communication")]
    assert "Spent" in side and "Audit" in side and "2.5" in side and "ε ≤ 8" in side


def test_configuration_is_shown_as_a_diff_from_the_defaults(run_dir):
    page = write_report(run_dir).read_text()
    config = page[page.index("<h2>Configuration"):]
    diff = config[:config.index("<details>")]
    assert re.findall(r"<tr><td>([^<]+)</td><td>([^<]+)</td><td>([^<]+)</td></tr>", diff) == [
        ("schedule.paradigm", "cp-ift", "ift"), ("train.rounds", "2", "3")]
