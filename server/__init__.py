"""Coordinator side: the Flower ServerApp, strategies, the stage schedule, checkpoints and export."""
