"""Coordinator side: the Flower ServerApp, strategies, the stage schedule, checkpoints and export."""

import common  # noqa: F401  (the console and offline flags before anything this package imports)
