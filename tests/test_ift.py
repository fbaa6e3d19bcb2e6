"""Instruction tuning: the loss covers exactly the assistant replies, whatever the chat template adds."""

from __future__ import annotations

from transformers import AutoTokenizer

from client.stages.ift import InstructionTuning
from common.records import Conversation, Message
from common.tokens import IGNORE


def _labelled_text(tokenizer, example) -> str:
    return tokenizer.decode([t for t, label in zip(example.input_ids, example.labels) if label != IGNORE])


def test_single_turn_pair_labels_only_the_answer(tiny_model_dir):
    tokenizer = AutoTokenizer.from_pretrained(tiny_model_dir)
    pair = Conversation.from_pair("What treats asthma?", "Inhaled budesonide.")
    example = InstructionTuning(tokenizer, 256).encode(pair)
    assert _labelled_text(tokenizer, example) == "Inhaled budesonide.<|im_end|>\n"
    assert "What treats asthma?" in tokenizer.decode(example.input_ids)
    assert [label for label in example.labels if label != IGNORE] == \
        [t for t, label in zip(example.input_ids, example.labels) if label != IGNORE]


def test_multi_turn_dialogue_labels_every_assistant_turn_and_no_user_turn(tiny_model_dir):
    tokenizer = AutoTokenizer.from_pretrained(tiny_model_dir)
    dialogue = Conversation((Message("system", "Be brief."), Message("user", "I wheeze at night."),
                             Message("assistant", "That can be asthma."), Message("user", "What test?"),
                             Message("assistant", "Spirometry.")))
    example = InstructionTuning(tokenizer, 256).encode(dialogue)
    assert _labelled_text(tokenizer, example) == "That can be asthma.<|im_end|>\nSpirometry.<|im_end|>\n"


def test_truncation_keeps_labels_aligned(tiny_model_dir):
    tokenizer = AutoTokenizer.from_pretrained(tiny_model_dir)
    pair = Conversation.from_pair("Symptoms? " * 40, "Fever.")
    example = InstructionTuning(tokenizer, 32).encode(pair)
    assert len(example.input_ids) == len(example.labels) == 32
    assert all(label == IGNORE for label in example.labels)  # the answer was cut off: nothing to learn
