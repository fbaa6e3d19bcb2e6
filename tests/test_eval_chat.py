"""The chat CLI loads a run's exported adapter on its base model and keeps the conversation."""

from __future__ import annotations

import io
import json

import pytest

from common.chat import converse, load_session, main
from common.config import RunConfig
from common.model import build_adapter_model


@pytest.fixture
def run_dir(tmp_path, tiny_model_dir):
    cfg = RunConfig.from_flat({"model.name": str(tiny_model_dir), "model.quantization": "none",
                               "adapter.target-modules": "all-linear"})
    loaded = build_adapter_model(cfg.model, cfg.adapter, seed=0, trainable=False)
    loaded.model.save_pretrained(tmp_path / "adapter")
    (tmp_path / "config.json").write_text(json.dumps(cfg.to_flat()))
    return tmp_path


def test_chat_replies_keeps_history_and_resets(run_dir, no_network):
    session = load_session(run_dir, max_new_tokens=4)
    out = io.StringIO()
    converse(session, ["I have a fever.\n", "\n", "And a cough?\n", "/reset\n", "/quit\n", "never read\n"], out)
    assert out.getvalue().count("model> ") == 2
    assert session.history == []
    session.reply("Hello")
    assert [m["role"] for m in session.history] == ["user", "assistant"]


def test_chat_names_what_a_run_folder_lacks(tmp_path):
    with pytest.raises(FileNotFoundError, match="config.json"):
        main([str(tmp_path)])
