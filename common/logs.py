"""One logger hierarchy, ``medfed.*``, printed once with timestamps whoever starts the process."""

from __future__ import annotations

import logging


def get_logger(name: str) -> logging.Logger:
    root = logging.getLogger("medfed")
    if not root.handlers:
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("%(asctime)s medfed %(levelname)s %(message)s", "%H:%M:%S"))
        root.addHandler(handler)
        root.setLevel(logging.INFO)
        root.propagate = False
    return logging.getLogger(f"medfed.{name}")
