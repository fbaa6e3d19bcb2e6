"""A real deployment on 127.0.0.1 for tests: SuperLink with TLS and node authentication, SuperNodes, ``flwr run``.

Every process is started in its own session and tracked with all its descendants (Flower starts
SuperExec, ServerApp and ClientApp processes in new sessions of their own), so ``close`` ends them all.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

import psutil
import tomli_w

from common.config import RunConfig
from server.certs import create_ca, create_node_keys, create_server_certificate

REPO = Path(__file__).resolve().parents[2]
APP_PACKAGES = ("client", "common", "server", "privacy")
CONNECTION = "medfed"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class HospitalSide:
    """A TCP relay that stands in for the hospitals' machines without sending traffic off loopback.

    It listens on 127.0.0.1 and opens each upstream connection from ``source`` (another address of
    127.0.0.0/8), so the SuperLink sees the hospitals and strangers at an address that is not the
    coordinator's, as it would on a real network. TLS passes through untouched.
    """

    def __init__(self, upstream_port: int, source: str = "127.0.0.2") -> None:
        self.upstream_port, self.source = upstream_port, source
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                downstream, _ = self.listener.accept()
            except OSError:  # closed
                return
            try:
                upstream = socket.create_connection(("127.0.0.1", self.upstream_port), source_address=(self.source, 0))
            except OSError:  # the SuperLink is down (a test of reconnection, or teardown): as a dropped link
                downstream.close()
                continue
            for a, b in ((downstream, upstream), (upstream, downstream)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    @staticmethod
    def _pipe(src: socket.socket, dst: socket.socket) -> None:
        try:
            while data := src.recv(65536):
                dst.sendall(data)
        except OSError:
            pass
        finally:
            for sock in (src, dst):
                try:
                    sock.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def close(self) -> None:
        self.listener.close()


def stage_app(out: Path, clientapp: str | None = None) -> Path:
    """The app as ``flwr run`` ships it, with every RunConfig key overridable and the auditing ServerApp;
    ``clientapp`` replaces the hospital's component (``hostile_app:app``: nodes forge what their config says)."""
    out.mkdir(parents=True)
    for package in APP_PACKAGES:
        shutil.copytree(REPO / package, out / package, ignore=shutil.ignore_patterns("__pycache__"))
    for module in ("audit_app.py", "hostile_app.py"):
        shutil.copy(Path(__file__).with_name(module), out / module)
    project = tomllib.loads((REPO / "pyproject.toml").read_text())
    flwr_app = project["tool"]["flwr"]["app"]
    # `flwr run --run-config` only overrides keys the app declares; declare them all.
    flwr_app["config"] = RunConfig().to_flat()
    flwr_app["components"]["serverapp"] = "audit_app:app"
    if clientapp is not None:
        flwr_app["components"]["clientapp"] = clientapp
    (out / "pyproject.toml").write_text(tomli_w.dumps(project))
    return out


@dataclass
class LocalDeployment:
    """The coordinator's SuperLink (``server.superlink``) on 127.0.0.1, the coordinator's address: its
    ``flwr`` connects directly, while SuperNodes and strangers connect through ``HospitalSide`` and so
    arrive from 127.0.0.2, as from another machine."""

    root: Path
    port: int = field(default_factory=free_port)
    processes: list[subprocess.Popen] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.keys = self.root / "keys"
        self.ca = create_ca(self.keys)
        self.server_cert, self.server_key = create_server_certificate(self.ca, self.keys, ["127.0.0.1"])
        self.hospital_side = HospitalSide(self.port)
        self.flwr_home = self.flwr_home_for("coordinator-flwr", self.port)
        # The hospitals' synthetic data is not de-identified in these tests: their policy must allow that.
        self.policy_file = self.root / "hospital-policy.toml"
        self.policy_file.write_text("deid-required = false\n")

    def flwr_home_for(self, name: str, port: int) -> Path:
        """A Flower home whose one connection is the SuperLink at 127.0.0.1:``port`` over TLS (all a hospital has)."""
        home = self.root / name
        home.mkdir(parents=True)
        (home / "config.toml").write_text(tomli_w.dumps({"superlink": {
            "default": CONNECTION,
            CONNECTION: {"address": f"127.0.0.1:{port}", "root-certificates": str(self.ca.cert_file)}}}))
        return home

    # -- processes ---------------------------------------------------------------------------------

    def env(self, flwr_home: Path) -> dict[str, str]:
        bin_dir = str(Path(sys.executable).parent)  # Flower starts flower-superexec etc. from PATH
        return {**os.environ, "PATH": f"{bin_dir}:{os.environ.get('PATH', '')}", "FLWR_HOME": str(flwr_home)}

    def _start(self, args: list[str], log: Path, flwr_home: Path) -> subprocess.Popen:
        flwr_home.mkdir(parents=True, exist_ok=True)
        with open(log, "wb") as out:
            process = subprocess.Popen(args, stdout=out, stderr=subprocess.STDOUT, env=self.env(flwr_home),
                                       start_new_session=True, cwd=self.root)
        self.processes.append(process)
        return process

    def _bin(self, name: str) -> str:
        return str(Path(sys.executable).parent / name)

    def start_superlink(self) -> None:
        self.superlink_log = self.root / "superlink.log"
        # `python -m server.superlink` from this checkout, without putting it on the path of the apps it starts.
        launcher = f"import sys; sys.path.insert(0, {str(REPO)!r}); from server.superlink import main; main()"
        self._start([sys.executable, "-c", launcher, "--ssl-ca-certfile", str(self.ca.cert_file),
                     "--ssl-certfile", str(self.server_cert), "--ssl-keyfile", str(self.server_key),
                     "--enable-supernode-auth", "--database", str(self.root / "superlink.db"),
                     "--coordinator-address", "127.0.0.1", "--host", "127.0.0.1", "--port", str(self.port),
                     "--disable-runtime-dependency-installation"],
                    self.superlink_log, self.flwr_home)
        self.wait_for_log(self.superlink_log, "Application startup complete")

    def new_node_key(self, name: str) -> tuple[Path, Path]:
        return create_node_keys(self.keys, name)

    def register(self, public_key: Path) -> int:
        """Register a SuperNode's key; returns the node id the SuperLink gave it."""
        result = self.flwr("supernode", "register", str(public_key), CONNECTION, "--format", "json")
        return int(json.loads(result.stdout)["node-id"])

    def start_supernode(self, name: str, private_key: Path | None, data_dir: Path, *, tls: bool = True,
                        max_wait: float | None = None, node_config: str = "") -> subprocess.Popen:
        """``node_config``: more node-config entries, e.g. ``forge="train-1:count-1e12"``."""
        args = [self._bin("flower-supernode"), "--superlink", f"127.0.0.1:{self.hospital_side.port}",
                "--port", str(free_port()), "--node-config",
                f'data-dir="{data_dir}" hospital-id="{name}" policy-file="{self.policy_file}" {node_config}'.strip()]
        args += ["--root-certificates", str(self.ca.cert_file)] if tls else ["--insecure"]
        if private_key is not None:
            args += ["--auth-supernode-private-key", str(private_key)]
        if max_wait is not None:
            args += ["--max-retries", "1", "--max-wait-time", str(max_wait)]
        return self._start(args, self.root / f"{name}.log", self.root / f"{name}-flwr")

    def flwr(self, *args: str, timeout: float = 60, home: Path | None = None,
             check: bool = True) -> subprocess.CompletedProcess:
        result = subprocess.run([self._bin("flwr"), *args], env=self.env(home or self.flwr_home), cwd=self.root,
                                capture_output=True, text=True, timeout=timeout)
        if check and result.returncode != 0:
            raise RuntimeError(f"flwr {' '.join(args[:2])} failed ({result.returncode}): {result.stdout[-2000:]}"
                               f"{result.stderr[-2000:]}")
        return result

    def run_app(self, app_dir: Path, run_config: str, timeout: float) -> subprocess.CompletedProcess:
        return self.flwr("run", str(app_dir), CONNECTION, "--stream", "--run-config", run_config, timeout=timeout)

    # -- waiting and cleanup -----------------------------------------------------------------------

    @staticmethod
    def wait_for_log(log: Path, text: str, *, count: int = 1, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if log.exists() and log.read_text(errors="replace").count(text) >= count:
                return
            time.sleep(0.3)
        raise TimeoutError(f"{log.name}: {text!r} not seen {count}x within {timeout}s")

    def close(self) -> None:
        """SIGTERM every started process and its descendants, then SIGKILL what is left."""
        self.hospital_side.close()
        tracked = []
        for process in self.processes:
            try:
                parent = psutil.Process(process.pid)
                tracked += [parent, *parent.children(recursive=True)]
            except psutil.NoSuchProcess:
                continue
        for proc in tracked:
            try:
                proc.send_signal(signal.SIGTERM)
            except psutil.NoSuchProcess:
                pass
        _, alive = psutil.wait_procs(tracked, timeout=10)
        for proc in alive:
            try:
                proc.kill()
            except psutil.NoSuchProcess:
                pass
        psutil.wait_procs(alive, timeout=5)
        for process in self.processes:
            if process.poll() is None:
                process.wait(timeout=5)
