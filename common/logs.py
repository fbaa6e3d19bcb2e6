"""The console: one log stream, each line once, in medfed's format, whoever starts the process.

``configure_console`` runs when ``client``, ``server`` or ``simulations`` is imported (their package
``__init__``), so a simulation's driver, its Ray workers, a deployed SuperNode's ClientApp process and the
SuperLink's ServerApp process all print the same way:

- one handler on the root logger, ``HH:MM:SS <source> LEVEL message``; Flower's coloured handler, the
  plain handler ``logging.basicConfig`` leaves (Opacus calls it on import) and transformers' own handler
  are removed, so every record is printed once;
- medfed's own lines at INFO (``MEDFED_LOG_LEVEL`` changes it: simulated hospitals run at WARNING, since
  the coordinator prints a line per reply); every library (Flower, Ray, transformers, bitsandbytes,
  Presidio, ...) at WARNING and above, unless verbose (``simulations.run --verbose`` or ``MEDFED_VERBOSE=1``);
- Python warnings go through the same stream, and the known harmless messages in ``HARMLESS`` are
  dropped by their exact text (each says why it is harmless); everything else still shows;
- no per-tensor progress bars: transformers' bars are off unless verbose, and tqdm's unless ``MEDFED_VERBOSE=1``
  (``common/__init__`` sets ``TQDM_DISABLE`` before torch imports tqdm).

``log_node_event`` is the one format for what happens to a node (dropped, rejected, rejoined, ...), and
``RoundConsole`` prints a line per hospital reply with the round's progress.
"""

from __future__ import annotations

import logging
import math
import os
import sys
import time
from collections.abc import Iterable, Mapping

from common.config import PATH_NAME

FORMAT = "%(asctime)s %(source)s %(levelname)s %(message)s"
DATE_FORMAT = "%H:%M:%S"

# Known harmless messages: (logger name, the start of the exact message, why it is harmless). Python warnings
# arrive on the logger "py.warnings" as "<file>:<line>: <Category>: <message>", so their needle names the category.
HARMLESS: tuple[tuple[str, str, str], ...] = (
    ("bitsandbytes.backends.cpu.ops", "Failed to load CPU gemm_4bit_forward from kernels-community",
     "bitsandbytes tries an optional faster CPU kernel from the Hugging Face hub (package `kernels`) and, without "
     "it, runs its built-in CPU kernel: same results; an offline hospital could not fetch it anyway"),
    ("flwr", "DEPRECATED FEATURE: The `run_simulation` function is deprecated",
     "simulations.run calls Flower's run_simulation to pass the run's overrides in-process; it is still supported "
     "in the pinned Flower 1.41, and `flwr run .` runs the same app"),
    ("flwr", "Manually terminating ClientAppActor",
     "Flower's simulation engine ends each hospital's Ray actor this way when the run is over: a normal shutdown"),
    ("py.warnings", "FutureWarning: Tip: In future versions of Ray, Ray will no longer override accelerator visible",
     "simulations.run asks Ray for a GPU exactly when torch sees one, so the old and the new default give the "
     "simulated hospitals the same devices"),
    ("py.warnings", "DeprecationWarning: `torch.jit.script_method` is deprecated",
     "torch's own torch.utils.mkldnn uses it while torch imports; medfed never uses TorchScript"),
    ("py.warnings", "FutureWarning: `is_gradient_checkpointing` is deprecated",
     "PEFT probes the renamed attribute with getattr when it wraps the model; the value it reads is the same"),
)

# medfed's own lines: the "medfed" hierarchy and modules that log under their import path.
_OWN = ("medfed", "client", "server", "common", "privacy", "simulations")
# Libraries that set their own logger level (Flower: DEBUG), so the root logger's level alone would not hold them.
_LIBRARY_LOGGERS = ("flwr", "transformers", "bitsandbytes", "ray", "presidio-analyzer", "presidio-anonymizer",
                    "datasets", "opacus", "py.warnings")


def _truthy(value: str | None) -> bool:
    return (value or "").strip().lower() in ("1", "true", "yes", "on")


class _Console(logging.StreamHandler):
    """Writes to whatever ``sys.stderr`` is when a line is emitted: pytest and Flower's log upload replace it."""

    @property
    def stream(self):
        return sys.stderr

    @stream.setter
    def stream(self, value) -> None:
        pass  # always the current sys.stderr


class _Policy(logging.Filter):
    """Which records reach the console, and their ``source`` (the top-level logger name) for the format."""

    def __init__(self) -> None:
        super().__init__()
        self.verbose = False

    def filter(self, record: logging.LogRecord) -> bool:
        top = record.name.split(".", 1)[0]
        record.source = "medfed" if top in _OWN else "python" if record.name == "py.warnings" else top
        if top not in _OWN and record.levelno < (logging.INFO if self.verbose else logging.WARNING):
            return False
        if record.name == "py.warnings":  # "<file>:<line>: <Category>: <message>\n  <source line>": keep one line
            record.msg, record.args = record.getMessage().strip().splitlines()[0], ()
        message = record.getMessage()
        return not any((record.name == name or record.name.startswith(name + ".")) and needle in message
                       for name, needle, _ in HARMLESS)


_policy = _Policy()


def configure_console(verbose: bool | None = None) -> None:
    """Set up this process's console (idempotent; call again to change verbosity).

    ``verbose`` None keeps the current setting (first call: ``MEDFED_VERBOSE``).
    """
    root = logging.getLogger()
    handler = next((h for h in root.handlers if isinstance(h, _Console)), None)
    if handler is None:
        handler = _Console()
        handler.setFormatter(logging.Formatter(FORMAT, DATE_FORMAT))
        handler.addFilter(_policy)
        root.addHandler(handler)
        _policy.verbose = _truthy(os.environ.get("MEDFED_VERBOSE"))
    if verbose is not None:
        _policy.verbose = verbose
    # logging.basicConfig's plain handler (Opacus calls it on import) would print every record a second time.
    for other in [h for h in root.handlers if type(h) is logging.StreamHandler]:
        root.removeHandler(other)
    library_level = logging.INFO if _policy.verbose else logging.WARNING
    root.setLevel(library_level)
    for name in _OWN:
        logging.getLogger(name).setLevel(os.environ.get("MEDFED_LOG_LEVEL", "INFO").upper())
    for name in _LIBRARY_LOGGERS:
        logging.getLogger(name).setLevel(library_level)
    logging.captureWarnings(True)
    _quiet_flower()
    _quiet_transformers(_policy.verbose)


def _quiet_flower() -> None:
    """Flower's coloured console handler goes: its records reach the root handler instead."""
    from flwr.supercore.logger import FLOWER_LOGGER, ConsoleHandler

    for h in [h for h in FLOWER_LOGGER.handlers if isinstance(h, ConsoleHandler)]:
        FLOWER_LOGGER.removeHandler(h)
    FLOWER_LOGGER.propagate = True


def _quiet_transformers(verbose: bool) -> None:
    from transformers.utils import logging as hf_logging

    hf_logging.disable_default_handler()
    hf_logging.enable_propagation()
    hf_logging.set_verbosity(logging.INFO if verbose else logging.WARNING)
    if verbose:
        hf_logging.enable_progress_bar()
    else:
        hf_logging.disable_progress_bar()


def worker_environment(log_level: str = "INFO") -> dict[str, str]:
    """Environment for processes this one starts (Ray workers): the same console, medfed's lines at
    ``log_level`` (INFO when verbose)."""
    env = {k: os.environ[k] for k in ("HF_HUB_DISABLE_PROGRESS_BARS", "TQDM_DISABLE") if k in os.environ}
    return {**env, "MEDFED_VERBOSE": "1" if _policy.verbose else "0",
            "MEDFED_LOG_LEVEL": "INFO" if _policy.verbose else log_level}


def get_logger(name: str) -> logging.Logger:
    if not any(isinstance(h, _Console) for h in logging.getLogger().handlers):
        configure_console()
    return logging.getLogger(f"medfed.{name}")


# -- what the coordinator and hospital IT read ----------------------------------------------------------------

_nodes = logging.getLogger("medfed.nodes")


def log_node_event(node_id: int, hospital: str | None, event: str, reason: str = "", *,
                   level: int = logging.WARNING) -> str:
    """Log one line about one node and return it: ``node 42 (hospital-1) rejected: <reason>``.

    ``event`` is a past participle a coordinator reads at a glance: ``dropped`` (no reply in time),
    ``failed`` (an error reply), ``rejected`` (a reply left out by a check), ``rejoined`` (replies again
    after missing a round). ``reason`` must never quote a reply's content, only say what was wrong.
    """
    who = f"node {node_id}" + (f" ({hospital})" if hospital else "")
    line = f"{who} {event}" + (f": {reason}" if reason else "")
    _nodes.log(level, "%s", line)
    return line


def finite_number(value: object) -> float | None:
    """``value`` as a float if it is a finite number, else None: what a console line or report shows of a
    value it did not check itself (a reply is printed before the coordinator's gate has seen it)."""
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        return None
    return float(value)


def hospital_line(hospital: str, metrics: Mapping[str, object]) -> str:
    """One hospital's round in a line, from its reply's metrics: loss, tokens, seconds, ε when DP is on."""
    loss, tokens, seconds, epsilon = (finite_number(metrics.get(k)) for k in
                                      ("train-loss", "train-tokens", "train-seconds", "dp-epsilon"))
    parts = [f"{hospital}: loss {loss if loss is not None else float('nan'):.4f}",
             f"{int(tokens or 0):,} tokens", f"{seconds or 0.0:.1f}s"]
    if epsilon is not None:
        parts.append(f"ε {epsilon:.3f}")
    return " · ".join(parts)


def _duration(seconds: float) -> str:
    seconds = int(round(seconds))
    return f"{seconds // 60}m{seconds % 60:02d}s" if seconds >= 60 else f"{seconds}s"


class RoundConsole:
    """The coordinator's view of a round's replies: one line per hospital reply with the round's progress,
    and a named line when a node drops (no reply in time) or rejoins after missing a round.

    It watches the replies Flower's Grid pulls inside ``send_and_receive`` (Flower's own loop, timeouts and
    all, stays in charge); a Grid that does not pull (the in-process one) is reported when it returns.
    """

    def __init__(self) -> None:
        self.hospitals: dict[int, str] = {}  # node id -> hospital id, from its replies
        self.missing: dict[int, int] = {}  # node id -> the round it last failed to answer

    def send_and_receive(self, grid, messages: list, *, timeout: float | None, label: str,
                         server_round: int, phase: str = "train") -> list:
        """``grid.send_and_receive(messages)`` with drop lines, and in the train phase a line per reply."""
        per_hospital = phase == "train"
        sampled = {m.metadata.dst_node_id for m in messages}
        started, done = time.perf_counter(), set()
        log = logging.getLogger("medfed.server")

        def seen(replies: Iterable) -> None:
            for reply in replies:
                node = reply.metadata.src_node_id
                if node in done:
                    continue
                done.add(node)
                if reply.has_error():
                    continue  # the round loop logs a failed node with its reason
                claimed = reply.content["hospital"].get("hospital-id") if "hospital" in reply.content else None
                if isinstance(claimed, str) and PATH_NAME.fullmatch(claimed):  # never print a reply's free text
                    self.hospitals[node] = claimed
                if node in self.missing:
                    log_node_event(node, self.hospitals.get(node), "rejoined",
                                   f"replied again after missing round {self.missing.pop(node)}", level=logging.INFO)
                if per_hospital and "metrics" in reply.content:
                    elapsed = time.perf_counter() - started
                    eta = elapsed / len(done) * (len(sampled) - len(done))
                    log.info("%s %s  [%d/%d hospitals · %s elapsed%s]", label,
                             hospital_line(self.hospitals.get(node, f"node {node}"), reply.content["metrics"]),
                             len(done), len(sampled), _duration(elapsed),
                             f" · ETA {_duration(eta)}" if len(done) < len(sampled) else "")

        if per_hospital:
            first = " (the first also prepares each hospital's data: de-identification, cleaning, splits)" \
                if not self.hospitals else ""
            log.info("%s training at %d hospitals%s", label, len(sampled), first)
        pull = grid.pull_messages

        def watched_pull(message_ids):
            replies = list(pull(message_ids))
            seen(replies)
            return replies

        grid.pull_messages = watched_pull  # on this instance only, for the length of this call
        try:
            replies = list(grid.send_and_receive(messages, timeout=timeout))
        finally:
            del grid.pull_messages
        seen(replies)
        for node in sorted(sampled - {r.metadata.src_node_id for r in replies}):
            self.missing[node] = server_round
            log_node_event(node, self.hospitals.get(node), "dropped",
                           f"no reply to round {server_round} ({phase})"
                           + (f" within {timeout:g}s (strategy.round-timeout)" if timeout is not None else ""))
        for reply in replies:
            if reply.has_error():
                self.missing[reply.metadata.src_node_id] = server_round
        return replies
