"""Export of the final global adapter: a PEFT adapter directory, and a merged model when that is meaningful."""

from __future__ import annotations

import shutil
from pathlib import Path

import torch

from common.config import RunConfig
from common.model import LoadedModel


def export_adapter(loaded: LoadedModel, state: dict[str, torch.Tensor], run_dir: Path,
                   cfg: RunConfig) -> tuple[Path, Path | None]:
    """Write ``<run>/adapter`` (loads with ``PeftModel.from_pretrained(base, dir)``) and, for a full-precision
    base, ``<run>/merged`` (a plain HF model directory with the adapter folded into the weights).

    A 4-bit base gets no merged copy: folding a float update into NF4 weights re-quantises them and
    loses most of the update, so hospitals load base + adapter instead.
    """
    loaded.load_adapter_state(state)
    adapter_dir = _replace_dir(run_dir / "adapter", lambda tmp: (loaded.model.save_pretrained(tmp),
                                                                  loaded.tokenizer.save_pretrained(tmp)))
    merged_dir = None
    if cfg.model.quantization == "none" and cfg.adapter.method == "lora":  # a soft prompt does not fold into weights
        # merge_and_unload folds the adapter into the base in place; the coordinator is done with it.
        merged = loaded.model.merge_and_unload()
        merged_dir = _replace_dir(run_dir / "merged", lambda tmp: (merged.save_pretrained(tmp),
                                                                    loaded.tokenizer.save_pretrained(tmp)))
    return adapter_dir, merged_dir


def _replace_dir(target: Path, write) -> Path:
    """Write into a sibling temp folder, then swap it in, so a reader never sees a half-written export."""
    tmp = target.with_name(f".{target.name}.tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    write(tmp)
    if target.exists():
        shutil.rmtree(target)
    tmp.rename(target)
    return target
