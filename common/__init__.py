"""What the coordinator and the hospitals share: configuration, model and adapter loading, the wire format, stages, record types."""

import os

# medfed never reaches a model or dataset hub: every model is a local folder or ships in a package.
# Set before transformers/datasets are imported anywhere in the process, so a missing file is an
# error at once rather than a download attempt.
for _flag in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE", "HF_DATASETS_OFFLINE"):
    os.environ.setdefault(_flag, "1")

# No per-tensor progress bars (tqdm fixes its defaults from the environment when torch first imports it, so this
# goes before torch); MEDFED_VERBOSE=1 keeps them. See common/logs.py.
if os.environ.get("MEDFED_VERBOSE") != "1":
    os.environ.setdefault("TQDM_DISABLE", "1")
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")

import torch  # noqa: E402  (after the offline flags, before anything else can start torch's threads)

# Subnormal floats in activations and gradients take a slow path on x86 CPUs: flushing them to zero made a
# SmolLM2 training step 3-4x faster here. The mode is per thread and torch's worker threads copy it from the
# thread that creates them, so it is set on the first import of anything in medfed, before any torch work.
torch.set_flush_denormal(True)

# One console for the whole process (see common/logs.py): set up before any library logs or warns on import.
from common.logs import configure_console  # noqa: E402

configure_console()
