"""The hospital's privacy policy: the coordinator's run configuration may tighten it, never loosen it."""

from __future__ import annotations

import logging
import math
import stat
from pathlib import Path

import pytest
from flwr.app import ConfigRecord, Context, Message, RecordDict

from client import app as client_app
from client.policy import HospitalPolicy, PolicyRefused, reference_markdown
from common.config import HOSPITAL_SECTIONS, ConfigError, RunConfig, hospital_config
from common.stages import build_schedule
from privacy.dp import HospitalPrivacy, LedgerEntry, PlanPhase, PrivacyAccount

DEFAULTS = RunConfig()
STRICT_DP = HospitalPolicy(dp_required=True, dp_max_epsilon=4.0, dp_min_noise_multiplier=0.5, dp_unit="patient")


def test_the_default_run_config_satisfies_the_default_policy_exactly():
    """Today's defaults are the floor: the default simulation runs, and each deid bound is today's value."""
    policy = HospitalPolicy()
    assert policy.refusals(DEFAULTS) == []
    assert (policy.deid_max_score_threshold, policy.deid_max_residual_rate, policy.deid_spacy_model) == (
        DEFAULTS.deid.score_threshold, DEFAULTS.deid.max_residual_rate, DEFAULTS.deid.spacy_model)


@pytest.mark.parametrize("policy,overrides,fault", [
    (HospitalPolicy(), {"deid.enabled": False}, "deid.enabled=false"),
    (HospitalPolicy(), {"deid.score-threshold": 0.99}, "deid.score-threshold=0.99"),
    (HospitalPolicy(), {"deid.max-residual-rate": 1.0}, "deid.max-residual-rate=1"),
    (HospitalPolicy(), {"deid.spacy-model": "/tmp/finds-nothing"}, "deid.spacy-model"),
    (HospitalPolicy(), {"deid.date-mode": "shift"}, "deid.date-mode=shift"),
    (HospitalPolicy(), {"data.cache-dir": "/tmp/elsewhere"}, "data.cache-dir"),
    (HospitalPolicy(), {"dp.ledger-dir": "/tmp/empty-ledgers"}, "dp.ledger-dir"),
    (HospitalPolicy(allowed_stages="ift"), {"schedule.paradigm": "cp-ift"}, "stage kinds cp"),
    (STRICT_DP, {}, "dp.enabled=false"),
    (STRICT_DP, {"dp.enabled": True, "dp.unit": "patient"}, "dp.target-epsilon=8"),
    (STRICT_DP, {"dp.enabled": True, "dp.unit": "patient", "dp.target-epsilon": 0.0, "dp.noise-multiplier": 1.0},
     "dp.target-epsilon=0"),
    (STRICT_DP, {"dp.enabled": True, "dp.unit": "patient", "dp.target-epsilon": 2.0, "dp.delta": 1e-3},
     "dp.delta=0.001"),
    (STRICT_DP, {"dp.enabled": True, "dp.unit": "patient", "dp.target-epsilon": 2.0, "dp.noise-multiplier": 0.1},
     "dp.noise-multiplier=0.1"),
    (STRICT_DP, {"dp.enabled": True, "dp.target-epsilon": 2.0}, "dp.unit=record"),
])
def test_every_weakening_is_refused_with_the_setting_named(policy, overrides, fault):
    cfg = DEFAULTS.replace(**overrides)
    with pytest.raises(PolicyRefused, match="policy-refused: hospital h1 refuses") as refused:
        policy.enforce(cfg, "h1")
    assert len(refused.value.reasons) == 1 and fault in refused.value.reasons[0]


def test_tightening_is_accepted_and_the_hospital_keeps_its_own_locations(tmp_path):
    policy = HospitalPolicy(cache_dir=str(tmp_path / "cache"), ledger_dir=str(tmp_path / "ledger"), **{
        k: getattr(STRICT_DP, k) for k in ("dp_required", "dp_max_epsilon", "dp_min_noise_multiplier", "dp_unit")})
    cfg = DEFAULTS.replace(**{"deid.score-threshold": 0.2, "deid.max-residual-rate": 0.0, "deid.date-mode": "mask",
                              "dp.enabled": True, "dp.target-epsilon": 1.0, "dp.delta": 1e-6, "dp.unit": "patient",
                              "data.cache-dir": str(tmp_path / "cache")})
    effective = policy.enforce(cfg, "h1")
    assert (effective.data.cache_dir, effective.dp.ledger_dir) == (str(tmp_path / "cache"), str(tmp_path / "ledger"))
    assert effective.deid == cfg.deid and effective.dp.target_epsilon == 1.0
    policy.check_noise(0.5, "h1")
    with pytest.raises(PolicyRefused, match="σ=0.3 is below the policy's 0.5"):
        policy.check_noise(0.3, "h1")
    with pytest.raises(PolicyRefused, match="stage cp is of kind cp"):
        HospitalPolicy(allowed_stages="ift,ha").check_stage(build_schedule(cfg.replace(
            **{"schedule.paradigm": "cp-ift"})).stages[0], "h1")


@pytest.mark.parametrize("text,match", [
    ("deid-max-residual-rate = nan", "finite"),
    ("deid-max-score-threshold = 1.5", "<= 1.0"),
    ("dp-max-epsilon = inf", "finite"),
    ("deid-required = 1", "must be bool"),
    ("deid-minimum = 3", "unknown policy key 'deid-minimum'"),
    ('cache-dir = "relative/cache"', "absolute path"),
    ('allowed-stages = "ift,rlhf"', "allowed-stages"),
    ('deid-date-modes = ""', "deid-date-modes"),
    ("deid-required = [", "not valid TOML"),
])
def test_a_bad_policy_file_is_an_error_naming_file_and_key(tmp_path, text, match):
    path = tmp_path / "policy.toml"
    path.write_text(text + "\n")
    with pytest.raises(ConfigError, match=match) as raised:
        HospitalPolicy.load(path)
    assert str(path) in str(raised.value)


def _message(cfg: RunConfig, server_round: int = 1) -> Message:
    stage = build_schedule(cfg).stages[0]
    config = ConfigRecord({**stage.to_config(), "stage-index": 0, "round-in-stage": 1, "server-round": server_round})
    return Message(RecordDict({"run-config": ConfigRecord(hospital_config(cfg)), "config": config}),
                   dst_node_id=1, message_type="train")


def _context(node_config: dict) -> Context:
    return Context(run_id=1, node_id=1, node_config=node_config, state=RecordDict(), run_config={})


def _privacy(job: client_app.RoundJob) -> HospitalPrivacy:
    """The hospital's privacy for one round, in a fresh process (empty context.state)."""
    return HospitalPrivacy(job.cfg.dp, run_name=job.cfg.run.name, data_dir=job.hospital.data_dir, state=RecordDict())


def test_the_clientapp_refuses_a_weakening_message_and_logs_it(tmp_path, caplog, flower_task):
    policy_file = tmp_path / "policy.toml"
    policy_file.write_text("deid-max-residual-rate = 0.001\n")
    context = _context({"data-dir": str(tmp_path / "data"), "hospital-id": "st-mary", "policy-file": str(policy_file)})
    caplog.set_level(logging.ERROR, logger="medfed")
    logging.getLogger("medfed").addHandler(caplog.handler)
    try:
        with pytest.raises(PolicyRefused, match="hospital st-mary refuses.*deid.max-residual-rate=0.01 is above"):
            client_app.RoundJob.from_message(_message(DEFAULTS), context)
    finally:
        logging.getLogger("medfed").removeHandler(caplog.handler)
    assert any("policy-refused" in r.getMessage() for r in caplog.records)
    # Without a policy file a deployed hospital runs under the default floor; a simulated one under the run's own.
    with pytest.raises(PolicyRefused, match="deid.enabled=false"):
        client_app.RoundJob.from_message(_message(DEFAULTS.replace(**{"deid.enabled": False})),
                                         _context({"data-dir": str(tmp_path / "data")}))
    job = client_app.RoundJob.from_message(_message(DEFAULTS.replace(**{"deid.enabled": False})),
                                           _context({"partition-id": 0, "num-partitions": 1}))
    assert job.hospital.hospital_id == "hospital-0" and not job.cfg.deid.enabled


def test_a_message_with_resume_false_never_resets_the_privacy_ledger(tmp_path, monkeypatch, flower_task):
    """The coordinator used to wipe a hospital's spent ε by sending run.resume=false in round 1."""
    monkeypatch.setattr(client_app.RoundJob, "dp_plan", lambda self, loaded: [PlanPhase(self.stage.name, 0.1, 12)])
    data = tmp_path / "data"
    node = {"data-dir": str(data)}
    cfg = DEFAULTS.replace(**{"dp.enabled": True, "dp.noise-multiplier": 1.0, "run.resume": False})
    job = client_app.RoundJob.from_message(_message(cfg), _context(node))
    account = PrivacyAccount.for_hospital(job.cfg.dp, cfg.run.name, data)
    spent = account.record(LedgerEntry(1, "ift", 1.0, 0.1, 12))
    # A fresh process (empty context.state), round 1 again, resume=false: the ledger is still there.
    again = client_app.RoundJob.from_message(_message(cfg), _context(node))
    privacy = _privacy(again)
    again.private_round(privacy, None, again.stage)
    restored = privacy.account
    assert restored.ledger.steps == 12 and math.isclose(restored.ledger.epsilon(), spent)
    assert stat.S_IMODE(account.path.stat().st_mode) == 0o600
    assert stat.S_IMODE(account.path.parent.stat().st_mode) == 0o700


def test_a_hospital_gets_only_its_keys_and_parses_them_once_per_run(monkeypatch, flower_task):
    cfg = RunConfig.from_flat({"deid.enabled": False, "schedule.recipe": "cp-ift", "strategy.aggregation": "exact",
                               "train.rounds": 2})
    sent = hospital_config(cfg)
    assert {"strategy.name", "strategy.weighting", "eval.answer-labels", "train.rounds"} <= set(sent)
    assert not any(k.startswith(("validation.", "secagg.", "simulation.", "eval.pubmedqa")) for k in sent)
    assert "strategy.aggregation" not in sent and "schedule.recipe" not in sent and len(sent) < len(cfg.to_flat())
    parses = []
    parse = RunConfig.from_flat.__func__
    monkeypatch.setattr(RunConfig, "from_flat", classmethod(lambda cls, flat: parses.append(1) or parse(cls, flat)))
    context = _context({"partition-id": 0, "num-partitions": 1})
    first = client_app.RoundJob.from_message(_message(cfg), context)
    parsed = len(parses)
    second = client_app.RoundJob.from_message(_message(cfg, server_round=2), context)
    assert parsed and len(parses) == parsed and second.cfg is first.cfg and second.server_round == 2
    # What the hospital reads is what the coordinator runs with.
    assert all(getattr(first.cfg, s) == getattr(cfg, s) for s in HOSPITAL_SECTIONS if s != "schedule")
    assert (first.cfg.strategy.name, first.cfg.eval.answer_labels) == (cfg.strategy.name, cfg.eval.answer_labels)
    assert build_schedule(first.cfg) == build_schedule(cfg)
    # A changed configuration (another run, or the same run id reused) is parsed afresh.
    third = client_app.RoundJob.from_message(_message(cfg.replace(**{"train.rounds": 3})), context)
    assert third.cfg.train.rounds == 3


def test_the_deployment_guide_lists_every_policy_key():
    guide = (Path(__file__).parents[1] / "docs" / "deployment.md").read_text()
    assert reference_markdown() in guide, "regenerate the table with: python -m client.policy"


def test_a_new_run_name_is_no_fresh_budget_under_a_total_cap(tmp_path, monkeypatch, flower_task):
    monkeypatch.setattr(client_app.RoundJob, "dp_plan", lambda self, loaded: [PlanPhase(self.stage.name, 0.1, 12)])
    data, policy_file = tmp_path / "data", tmp_path / "policy.toml"
    node = {"data-dir": str(data), "policy-file": str(policy_file)}
    cfg = DEFAULTS.replace(**{"dp.enabled": True, "dp.noise-multiplier": 1.0, "run.name": "first"})
    spent = PrivacyAccount.for_hospital(cfg.dp, "first", data).record(LedgerEntry(1, "ift", 1.0, 0.1, 12))
    policy_file.write_text(f"dp-max-total-epsilon = {2 * spent + 0.01}\n")  # room for one more such round
    second = cfg.replace(**{"run.name": "second"})
    job = client_app.RoundJob.from_message(_message(second), _context(node))
    privacy = _privacy(job)
    job.private_round(privacy, None, job.stage)
    privacy.close_round({}, {}, ConfigRecord())
    job = client_app.RoundJob.from_message(_message(cfg.replace(**{"run.name": "third"})), _context(node))
    with pytest.raises(PolicyRefused, match=r"ε over all runs would reach .* above the policy's"):
        job.private_round(_privacy(job), None, job.stage)
