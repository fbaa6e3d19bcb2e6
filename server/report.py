"""The run report: one self-contained HTML page with PNG plots, drawn from a run folder's numbers.

    python -m server.report runs/default            # writes runs/default/report.html

Read: ``metrics.jsonl`` (one RoundRecord a line), ``summary.json``, ``config.json``, the hospitals'
data cards inside the summary, and ``privacy-audit.json`` when a privacy audit of the run wrote one.
Only numbers are taken from metrics and data cards (a non-numeric value is left out), so no text a
hospital holds can reach the page. Plots are embedded as base64 PNGs: the file can
be mailed or archived alone.
"""

from __future__ import annotations

import argparse
import base64
import html
import io
import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # headless: no display on a coordinator
import matplotlib.pyplot as plt  # noqa: E402  (after the backend is chosen)
from matplotlib.ticker import MaxNLocator  # noqa: E402

from common.jsonfiles import json_records  # noqa: E402
from common.logs import finite_number  # noqa: E402
from common.stage_kinds import kind_of, record_kinds  # noqa: E402

# Metrics that are bookkeeping, not results.
_NOT_PLOTTED = {"num-examples", "stage-index", "quantized-4bit"}

AUDIT_FILE = "privacy-audit.json"  # written into a run folder by the privacy audit (simulations.benchmarks.privacy)


@dataclass
class RunData:
    rounds: list[dict]
    summary: dict
    config: dict
    audit: dict

    @classmethod
    def load(cls, run_dir: Path) -> RunData:
        metrics = run_dir / "metrics.jsonl"
        if not metrics.is_file():
            raise FileNotFoundError(f"{metrics}: no metrics file; is {run_dir} a run folder?")
        rounds = [record for _, record in json_records(metrics)]  # a bad line raises, naming file and line
        read = lambda name: json.loads((run_dir / name).read_text()) if (run_dir / name).is_file() else {}
        return cls(rounds, read("summary.json"), read("config.json"), read(AUDIT_FILE))

    @property
    def hospitals(self) -> list[str]:
        return sorted({h for r in self.rounds for h in r.get("hospitals", {})})

    def hospital_series(self, key: str) -> dict[str, tuple[list[int], list[float]]]:
        """Per hospital: (rounds, values) of one of its metrics (``train.train-loss``, ``evaluate.eval-loss``...)."""
        series = {}
        for hospital in self.hospitals:
            points = [(r["server_round"], finite_number(r["hospitals"].get(hospital, {}).get(key))) for r in self.rounds]
            points = [(x, y) for x, y in points if y is not None]
            if points:
                series[hospital] = ([x for x, _ in points], [y for _, y in points])
        return series

    def hospital_keys(self, prefix: str) -> list[str]:
        keys = {k for r in self.rounds for m in r.get("hospitals", {}).values() for k in m if k.startswith(prefix)}
        return sorted(k for k in keys if k.split(".", 1)[1] not in _NOT_PLOTTED)

    def aggregate_keys(self, section: str) -> list[str]:
        keys = {k for r in self.rounds for k, v in r.get(section, {}).items() if finite_number(v) is not None}
        return sorted(keys - _NOT_PLOTTED)


def _png(fig) -> str:
    for ax in fig.axes:  # every plot's x axis counts rounds
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    buffer = io.BytesIO()
    fig.tight_layout()
    fig.savefig(buffer, format="png", dpi=90)
    plt.close(fig)
    return base64.b64encode(buffer.getvalue()).decode()


def _shade_stages(ax, rounds: list[dict]) -> None:
    """Alternate background bands per stage, labelled with the stage name."""
    start = None
    for i, r in enumerate(rounds):
        if i == 0 or r["stage_index"] != rounds[i - 1]["stage_index"]:
            start = r["server_round"] - 0.5
        if i == len(rounds) - 1 or rounds[i + 1]["stage_index"] != r["stage_index"]:
            end = r["server_round"] + 0.5
            ax.axvspan(start, end, color="C7", alpha=0.08 if r["stage_index"] % 2 else 0.0)
            ax.text((start + end) / 2, 0.97, r["stage"], transform=ax.get_xaxis_transform(), ha="center",
                    va="top", fontsize=8, color="0.3")


def plot_losses(run: RunData) -> str:
    fig, ax = plt.subplots(figsize=(7, 3.6))
    for hospital, (x, y) in run.hospital_series("train.train-loss").items():
        ax.plot(x, y, marker="o", lw=1, alpha=0.7, label=f"{hospital} train")
    for key, style in (("train-loss", "-"), ("eval-loss", "--")):
        points = [(r["server_round"], finite_number(r.get("train" if key == "train-loss" else "evaluate", {}).get(key)))
                  for r in run.rounds]
        points = [(x, y) for x, y in points if y is not None]
        if points:
            ax.plot(*zip(*points), style, color="k", lw=2, label=f"federation {key.replace('-', ' ')}")
    _shade_stages(ax, run.rounds)
    ax.set(xlabel="round", ylabel="loss", title="Loss per stage and hospital")
    ax.legend(fontsize=7)
    return _png(fig)


def plot_epsilon(run: RunData) -> str | None:
    keys = [k for k in run.hospital_keys("train.") if "epsilon" in k]
    if not keys:
        return None
    fig, ax = plt.subplots(figsize=(7, 3.2))
    for key in keys:
        for hospital, (x, y) in run.hospital_series(key).items():
            ax.plot(x, y, marker="o", label=hospital if len(keys) == 1 else f"{hospital} {key}")
    _shade_stages(ax, run.rounds)
    ax.set(xlabel="round", ylabel="ε spent", title="Privacy budget spent per hospital")
    ax.legend(fontsize=7)
    return _png(fig)


def plot_bytes(run: RunData) -> str:
    fig, ax = plt.subplots(figsize=(7, 3.2))
    x = [r["server_round"] for r in run.rounds]
    ax.bar([v - 0.2 for v in x], [r.get("bytes_down", 0) / 1e6 for r in run.rounds], width=0.4, label="to hospitals")
    ax.bar([v + 0.2 for v in x], [r.get("bytes_up", 0) / 1e6 for r in run.rounds], width=0.4, label="from hospitals")
    ax.set(xlabel="round", ylabel="MB", title="Adapter bytes on the wire per round")
    ax.legend(fontsize=7)
    return _png(fig)


def plot_evaluation(run: RunData) -> str | None:
    keys = [k for k in run.aggregate_keys("evaluate")]
    if not keys:
        return None
    fig, axes = plt.subplots(len(keys), 1, figsize=(7, 2.6 * len(keys)), squeeze=False)
    for ax, key in zip(axes[:, 0], keys):
        for hospital, (x, y) in run.hospital_series(f"evaluate.{key}").items():
            ax.plot(x, y, marker=".", lw=1, alpha=0.7, label=hospital)
        points = [(r["server_round"], finite_number(r.get("evaluate", {}).get(key))) for r in run.rounds]
        points = [(x, y) for x, y in points if y is not None]
        ax.plot(*zip(*points), "-o", color="k", lw=2, label="federation (weighted)")
        ax.set(xlabel="round", title=key)
        ax.legend(fontsize=7)
    return _png(fig)


def _table(header: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    head = "".join(f"<th>{html.escape(str(h))}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(_fmt(c))}</td>" for c in row) + "</tr>" for row in rows)
    return f"<table><tr>{head}</tr>{body}</table>"


def _fmt(value: object) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    return "" if value is None else str(value)


# The data pipeline's steps in order (client/data/pipeline.py) and the names they have on the page.
_STEPS = (("load", "read"), ("deid", "after de-identification"), ("quality", "after quality filter"),
          ("dedup", "after de-duplication"), ("contamination", "after contamination check"))


def _cards(run: RunData) -> dict[str, dict[str, float]]:
    return {h: {k: v for k, v in card.items() if finite_number(v) is not None}
            for h, card in sorted(run.summary.get("data_cards", {}).items())}


def _cell(count: float | None, dropped: dict[str, float]) -> str:
    """A funnel cell: the records left, and what this step dropped and why."""
    if count is None:
        return "<td>–</td>"
    why = ", ".join(f"{html.escape(r)} {_fmt(int(n))}" for r, n in sorted(dropped.items()) if n)
    return f"<td>{_fmt(int(count))}" + (f"<br><small>−{html.escape(why)}</small>" if why else "") + "</td>"


def data_funnel(run: RunData) -> str:
    """Per training stage, one row per hospital: records through each data step, with drop reasons."""
    cards = _cards(run)
    if not cards:
        return "<p>No data cards were received.</p>"
    parts = []
    for kind, owner in record_kinds().items():  # kind: the record list; owner: the stage kind that trains on it
        title = f"{kind_of(owner).title or owner} ({owner}): {kind}"
        steps = [(step, name) for step, name in _STEPS if any(f"data.{step}.{kind}.out" in c for c in cards.values())]
        if not steps and not any(f"data.split.{kind}.train" in c for c in cards.values()):
            continue
        head = "".join(f"<th>{html.escape(name)}</th>" for _, name in steps)
        rows = []
        for hospital, card in cards.items():
            cells = []
            for i, (step, _) in enumerate(steps):
                prefix = f"data.{step}.{kind}."
                dropped = {k[len(prefix) + len("dropped."):]: v for k, v in card.items()
                           if k.startswith(prefix + "dropped.")}
                if i == 0 and step == "load":
                    dropped = {}  # bad input is counted per reason below the funnels
                cells.append(_cell(card.get(prefix + "out"), dropped))
            train, heldout = card.get(f"data.split.{kind}.train"), card.get(f"data.split.{kind}.heldout")
            tokens = card.get(f"data.tokens.{owner}.train")
            cells.append(f"<td>{_fmt(None if train is None else int(train))} / "
                         f"{_fmt(None if heldout is None else int(heldout))}</td>")
            cells.append(f"<td>{_fmt(None if tokens is None else int(tokens))}</td>")
            rows.append(f"<tr><td>{html.escape(hospital)}</td>{''.join(cells)}</tr>")
        parts.append(f"<h3>{html.escape(title)}</h3><table><tr><th>hospital</th>{head}<th>train / held out</th>"
                     f"<th>train tokens</th></tr>{''.join(rows)}</table>")
    return "".join(parts) + data_card_extras(cards)


def data_card_extras(cards: dict[str, dict[str, float]]) -> str:
    """What the funnels leave out: files read, bad input skipped, identifiers replaced, the residual rate."""
    def listing(card: dict, prefix: str) -> str:
        items = sorted(((k[len(prefix):], v) for k, v in card.items() if k.startswith(prefix)
                        and k[len(prefix):] not in ("residual", "residual-rate")), key=lambda kv: (-kv[1], kv[0]))
        return ", ".join(f"{name} {_fmt(int(v))}" for name, v in items if v) or "none"

    rows = [(h, listing(c, "data.files."), listing(c, "data.bad-input."), listing(c, "data.identifiers."),
             c.get("data.identifiers.residual-rate"), "yes" if c.get("data.cache-hit") else "no")
            for h, c in cards.items()]
    return "<h3>Inputs and de-identification</h3>" + _table(
        ["hospital", "files read", "bad input skipped", "identifiers replaced", "residual PHI rate", "cache hit"], rows)


def audit_table(run: RunData) -> str:
    if not run.audit:
        return "<p>No privacy audit was run on this run (see <code>simulations.benchmarks.privacy</code>).</p>"
    a = run.audit
    rows = [("planted canaries: mean exposure", a.get("planted_exposure")),
            ("never-seen canaries: mean exposure (chance)", a.get("reference_exposure")),
            ("highest measurable exposure", a.get("max_exposure")),
            ("membership inference AUC (0.5: no signal)", a.get("membership_auc")),
            ("members / non-members scored", f"{a.get('members')} / {a.get('non_members')}")]
    return _table(["", "value"], [(k, finite_number(v) if not isinstance(v, str) else v) for k, v in rows])


def privacy_table(run: RunData) -> str:
    """ε spent per hospital (and client-level ε) as the run summary records it."""
    privacy = run.summary.get("privacy", {})
    rows = [(h, finite_number(p.get("epsilon")), finite_number(p.get("delta")), p.get("steps"), p.get("round"))
            for h, p in sorted(privacy.get("hospitals", {}).items())]
    if "client_level" in privacy:
        c = privacy["client_level"]
        rows.append((f"federation (client-level, {c.get('mode')})", finite_number(c.get("epsilon")), finite_number(c.get("delta")),
                     c.get("releases"), None))
    if not rows:
        return "<p>No hospital reported privacy spending (differential privacy off).</p>"
    target = finite_number(privacy.get("target_epsilon"))
    caption = f"<p>Budget per hospital: ε ≤ {target:g}.</p>" if target is not None else ""
    return caption + _table(["who", "ε spent", "δ", "DP steps / releases", "last round"], rows)


def config_diff(run: RunData) -> str:
    """The run's configuration as it differs from the defaults (common.config), then the full list folded away."""
    from common.config import RunConfig  # the defaults are the configuration's own

    defaults = RunConfig.from_flat({}).to_flat()
    changed = [(k, v, defaults.get(k, "(not a default key)")) for k, v in sorted(run.config.items())
               if defaults.get(k, object()) != v]
    diff = (_table(["key", "this run", "default"], changed) if changed
            else "<p>Every key at its default.</p>")
    return diff + (f"<details><summary>all {len(run.config)} keys</summary>"
                   f"{_table(['key', 'value'], sorted(run.config.items()))}</details>")


def summary_table(run: RunData) -> str:
    s = run.summary
    rows = [("rounds", s.get("rounds")), ("stages", " → ".join(map(str, s.get("stages", [])))),
            ("MB sent to hospitals", (s.get("bytes_down_total") or 0) / 1e6),
            ("MB received from hospitals", (s.get("bytes_up_total") or 0) / 1e6),
            ("hospitals", len(run.hospitals)),
            ("rejected replies", sum(len(r.get("rejected", [])) for r in run.rounds))]
    last_eval = next((r["evaluate"] for r in reversed(run.rounds) if r.get("evaluate")), {})
    rows += [(f"final {k}", finite_number(v)) for k, v in sorted(last_eval.items()) if finite_number(v) is not None
             and k not in _NOT_PLOTTED]
    return _table(["", "value"], rows)


_STYLE = """body{font-family:system-ui,sans-serif;max-width:900px;margin:2em auto;color:#222}
h1{font-size:1.5em}h2{font-size:1.15em;margin-top:1.6em;border-bottom:1px solid #ddd}
table{border-collapse:collapse;font-size:.85em}td,th{border:1px solid #ddd;padding:2px 8px;text-align:right}
td:first-child,th:first-child{text-align:left}img{max-width:100%}h3{font-size:1em}small{color:#a33}
.side{display:flex;gap:1.5em;flex-wrap:wrap}.side>div{flex:1 1 380px}"""


def render(run: RunData, title: str) -> str:
    sections = [("Summary", summary_table(run)), ("Loss", f'<img src="data:image/png;base64,{plot_losses(run)}">')]
    epsilon = plot_epsilon(run)
    spending = (f'<img src="data:image/png;base64,{epsilon}">' if epsilon else "") + privacy_table(run)
    sections.append(("Privacy", f'<div class="side"><div><h3>Spent</h3>{spending}</div>'
                                f'<div><h3>Audit</h3>{audit_table(run)}</div></div>'))
    sections.append(("Communication", f'<img src="data:image/png;base64,{plot_bytes(run)}">'))
    evaluation = plot_evaluation(run)
    sections.append(("Evaluation", f'<img src="data:image/png;base64,{evaluation}">' if evaluation
                     else "<p>No evaluation metrics were recorded.</p>"))
    sections.append(("Data: each hospital's records through its pipeline", data_funnel(run)))
    sections.append(("Configuration (changed from the defaults)", config_diff(run)))
    body = "".join(f"<h2>{html.escape(name)}</h2>{content}" for name, content in sections)
    return (f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
            f"<style>{_STYLE}</style></head><body><h1>{html.escape(title)}</h1>{body}</body></html>")


def write_report(run_dir: Path, out: Path | None = None) -> Path:
    """Render ``run_dir``'s report to ``out`` (default ``<run_dir>/report.html``); returns its path."""
    run_dir = Path(run_dir)
    out = out or run_dir / "report.html"
    out.write_text(render(RunData.load(run_dir), f"medfed run report: {run_dir.name}"), encoding="utf-8")
    return out


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("run_dir", type=Path, help="a run folder (holds metrics.jsonl)")
    parser.add_argument("--out", type=Path, default=None, help="where to write the HTML (default <run_dir>/report.html)")
    args = parser.parse_args(argv)
    print(write_report(args.run_dir, args.out))


if __name__ == "__main__":
    main()
