"""Named recipes: the training families of published medical LLMs, reproduced at small scale.

A recipe is a set of run-config settings (``schedule.recipe = "cp-ift-ha"``). It applies under the
keys a user sets explicitly, so any of its settings can still be changed, and it never fixes the base
model or the round counts: those stay with the run (``train.rounds`` is the rounds of every stage a
recipe does not size itself). This module holds data only, so ``common.config`` can import it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Recipe:
    modelled_on: str  # the one-line documentation of the recipe
    settings: dict[str, Any] = field(default_factory=dict)


RECIPES: dict[str, Recipe] = {
    "ift-lora": Recipe(
        "DoctorGLM, BenTsao, ChatMed-Consult: LoRA instruction tuning of a full-precision base on medical QA.",
        {"schedule.stages": "ift", "adapter.method": "lora", "model.quantization": "none"}),
    "ift-qlora": Recipe(
        "Clinical Camel, Taiyi: QLoRA (4-bit NF4 base, LoRA on every linear layer) instruction tuning.",
        {"schedule.stages": "ift", "adapter.method": "lora", "model.quantization": "nf4",
         "adapter.target-modules": "all-linear"}),
    "ift-prompt-tuning": Recipe(
        "Med-PaLM: instruction prompt tuning, a learned soft prompt on a frozen instruction-tuned model.",
        {"schedule.stages": "ift", "adapter.method": "prompt-tuning", "model.quantization": "none",
         "adapter.virtual-tokens": 20, "stage.ift.learning-rate": 3e-2}),
    "cp-ift": Recipe(
        "PMC-LLaMA, MediTron, Me-LLaMA: continued pretraining on medical text, then instruction tuning.",
        {"schedule.stages": "cp,ift", "stage.cp.learning-rate": 3e-4, "stage.ift.learning-rate": 2e-4,
         "stage.ift.lr-schedule": "cosine"}),
    "ift-ha": Recipe(
        "HuatuoGPT, ClinicalGPT: instruction tuning, then alignment to preferences (their RL step done as DPO).",
        {"schedule.stages": "ift,ha", "stage.ha.loss": "dpo", "stage.ha.learning-rate": 5e-5}),
    "cp-ift-ha": Recipe(
        "MedicalGPT, Qilin-Med, Zhongjing: continued pretraining, instruction tuning, then DPO alignment.",
        {"schedule.stages": "cp,ift,ha", "stage.cp.learning-rate": 3e-4, "stage.ift.learning-rate": 2e-4,
         "stage.ha.loss": "dpo", "stage.ha.learning-rate": 5e-5}),
    "two-stage-ift": Recipe(
        "DISC-MedLLM, Taiyi, OncoGPT: broad instruction tuning, then a second pass on a small curated set "
        "(here the multi-turn doctor dialogues) at a lower learning rate.",
        {"schedule.stages": "ift,ift-curated", "stage.ift-curated.data": "dialogues*",
         "stage.ift-curated.learning-rate": 1e-4}),
}
