"""What the coordinator and the hospitals share: configuration, model and adapter loading, the wire format, stages, record types."""

import os

# medfed never reaches a model or dataset hub: every model is a local folder or ships in a package.
# Set before transformers/datasets are imported anywhere in the process, so a missing file is an
# error at once rather than a download attempt.
for _flag in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE", "HF_DATASETS_OFFLINE"):
    os.environ.setdefault(_flag, "1")
