"""``server.superlink``: Flower's SuperLink app with only the Fleet API open to machines other than the coordinator's."""

from __future__ import annotations

import flwr.superlink.main as superlink_app
import pytest
from starlette.testclient import TestClient

from server.superlink import CoordinatorOnly, install, main


@pytest.fixture
def gated_app(monkeypatch):
    monkeypatch.setattr(superlink_app, "_get_middleware", superlink_app._get_middleware)  # restored afterwards
    install(["127.0.0.1", "::1"])
    return superlink_app.create_app()


@pytest.mark.parametrize("path", ["/v1/control/list-runs", "/v1/control/create-node-cli", "/v1/runtime/ping",
                                  "/docs", "/openapi.json"])
def test_a_stranger_gets_403_for_everything_but_the_fleet_api(gated_app, path):
    with TestClient(gated_app, client=("192.0.2.77", 50000)) as stranger:
        assert stranger.post(path).status_code == 403
        assert stranger.get(path).status_code == 403


def test_the_fleet_api_stays_open_and_the_coordinator_keeps_the_control_api(gated_app):
    with TestClient(gated_app, client=("192.0.2.77", 50000)) as hospital:
        assert hospital.post("/v1/fleet/ping").status_code != 403
    with TestClient(gated_app, client=("127.0.0.1", 50000)) as coordinator:
        assert coordinator.get("/openapi.json").status_code == 200
    assert any(m.cls is CoordinatorOnly for m in gated_app.user_middleware)


def test_coordinator_addresses_must_be_ip_addresses(capsys):
    with pytest.raises(SystemExit):
        main(["--coordinator-address", "link.example.org"])
    assert "not an IP address" in capsys.readouterr().err
    gate = CoordinatorOnly(app=None, coordinator_addresses=["10.0.0.5"])
    assert gate.admits("/v1/control/x", "10.0.0.5") and not gate.admits("/v1/control/x", "10.0.0.6")
    assert not gate.admits("/v1/control/x", None) and not gate.admits("/v1/control/x", "testclient")


def test_a_dual_stack_listener_sees_ipv4_coordinators_as_mapped_addresses():
    gate = CoordinatorOnly(app=None, coordinator_addresses=["127.0.0.1"])
    assert gate.admits("/v1/control/x", "::ffff:127.0.0.1")
    assert not gate.admits("/v1/control/x", "::1") and not gate.admits("/v1/control/x", "::ffff:127.0.0.2")
