"""The coordinator's Flower ServerApp."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flwr.app import Context
from flwr.serverapp import Grid, ServerApp

from common.config import RunConfig
from server.federation import Federation


def make_app(overrides: Mapping[str, Any] | None = None) -> ServerApp:
    """A ServerApp; ``overrides`` (flat ``section.key`` values) apply on top of Flower's run config."""
    app = ServerApp()

    @app.main()
    def main(grid: Grid, context: Context) -> None:
        cfg = RunConfig.from_flat({**context.run_config, **(overrides or {})})
        Federation(cfg, grid).run()

    return app


app = make_app()
