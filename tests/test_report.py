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


@pytest.fixture
def run_dir(tmp_path):
    rounds = [_round(1, "cp", 0, None), _round(2, "cp", 0, 0.4), _round(3, "ift", 1, 0.5), _round(4, "ift", 1, 0.6)]
    (tmp_path / "metrics.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rounds))
    cards = {"hospital-0": {"notes-train": 40, "tokens-train": 9000, "leak": SECRET},
             "hospital-1": {"notes-train": 25, "tokens-train": 5000}}
    (tmp_path / "summary.json").write_text(json.dumps({"rounds": 4, "stages": ["cp", "ift"], "data_cards": cards,
                                                       "bytes_down_total": 8e6, "bytes_up_total": 7.6e6}))
    (tmp_path / "config.json").write_text(json.dumps({"train.rounds": 2, "schedule.paradigm": "cp-ift"}))
    return tmp_path


def test_report_is_self_contained_with_every_plot(run_dir):
    page = write_report(run_dir).read_text()
    images = re.findall(r'<img src="data:image/png;base64,([A-Za-z0-9+/=]+)">', page)
    assert len(images) == 4  # loss, epsilon, bytes, evaluation
    assert all(base64.b64decode(i).startswith(b"\x89PNG") for i in images)
    assert "src=\"http" not in page and "<script" not in page  # nothing fetched when opened
    for expected in ("hospital-0", "hospital-1", "notes-train", "schedule.paradigm", "cp-ift",
                     "final eval-answer-accuracy"):
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
