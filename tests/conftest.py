"""Shared fixtures: a tiny Llama model and a real BPE tokenizer with a chat template, built offline in seconds.

Unit tests use this instead of SmolLM2: random weights and two layers make every forward pass cheap,
while the code paths (PEFT, chat template, offsets, wire format) are exactly the real ones.
"""

from __future__ import annotations

import random
import socket
from pathlib import Path

import pytest
import torch
from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

from simulations.synthetic.vocab import CONDITIONS

CHATML = ("{% for message in messages %}{{ '<|im_start|>' + message['role'] + '\n' + message['content'] + "
          "'<|im_end|>' + '\n' }}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}")


def _corpus() -> list[str]:
    rng = random.Random(0)
    lines = []
    for c in CONDITIONS:
        lines += [f"What are the symptoms of {c.name}? {', '.join(c.symptoms)}.",
                  f"Tests: {', '.join(c.tests)}. Treatment: {', '.join(c.medications)}. {c.advice}",
                  f"Patient seen on 2019-0{rng.randrange(1, 9)}-1{rng.randrange(0, 9)} MRN {rng.randrange(10**7, 10**8)}."]
    return lines * 3


def build_tiny_model(path: Path, *, layers: int = 2, hidden: int = 64) -> Path:
    tokenizer = Tokenizer(models.BPE())
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tokenizer.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=600, special_tokens=["<|endoftext|>", "<|im_start|>", "<|im_end|>"],
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    tokenizer.train_from_iterator(_corpus(), trainer)
    fast = PreTrainedTokenizerFast(tokenizer_object=tokenizer, eos_token="<|im_end|>", pad_token="<|endoftext|>",
                                   bos_token="<|im_start|>")
    fast.chat_template = CHATML
    fast.save_pretrained(path)
    torch.manual_seed(0)
    config = LlamaConfig(vocab_size=len(fast), hidden_size=hidden, intermediate_size=2 * hidden,
                         num_hidden_layers=layers, num_attention_heads=4, num_key_value_heads=2,
                         max_position_embeddings=1024, tie_word_embeddings=True,
                         eos_token_id=fast.eos_token_id, pad_token_id=fast.pad_token_id,
                         bos_token_id=fast.bos_token_id)
    LlamaForCausalLM(config).save_pretrained(path)
    return path


@pytest.fixture(scope="module")
def one_thread():
    """Tiny matrices: one thread is many times faster than two fighting over a shared, busy CPU."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory) -> Path:
    return build_tiny_model(tmp_path_factory.mktemp("tiny-model"))


@pytest.fixture
def no_network(monkeypatch):
    """Fail any attempt to open a non-local socket, as on a hospital machine without internet."""
    real_connect = socket.socket.connect

    def guarded(self, address):
        host = address[0] if isinstance(address, tuple) else address
        if isinstance(host, str) and (host.startswith("127.") or host in ("localhost", "::1") or host.startswith("/")):
            return real_connect(self, address)
        raise OSError(f"network access attempted in an offline test: {address!r}")

    monkeypatch.setattr(socket.socket, "connect", guarded)


@pytest.fixture
def flower_task(monkeypatch):
    """Flower builds Message objects only inside a run; give the test process a run identity."""
    from flwr.supercore.task_identity import TaskIdentity

    for field, value in (("_task_id", 1), ("_run_id", 1), ("_node_id", 0)):
        monkeypatch.setattr(TaskIdentity, field, value)
