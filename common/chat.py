"""Chat with a run's exported adapter, on the base model it was trained for.

    python -m common.chat runs/default              # type a message, Enter; /reset, /quit (or Ctrl-D)

Reads the run's ``config.json`` (which base model, which quantisation) and ``adapter/``; nothing is
downloaded and nothing is logged.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import TextIO

from common.config import RunConfig
from common.evaluation.scoring import generate
from common.model import load_exported_adapter


class ChatSession:
    """A conversation with the model; the history is kept in memory only."""

    def __init__(self, model, tokenizer, *, max_new_tokens: int = 256, system: str = "") -> None:
        self.model, self.tokenizer, self.max_new_tokens = model, tokenizer, max_new_tokens
        self.start = [{"role": "system", "content": system}] if system else []
        self.history = list(self.start)

    def reset(self) -> None:
        self.history = list(self.start)

    def reply(self, message: str) -> str:
        self.history.append({"role": "user", "content": message})
        prompt = self.tokenizer.apply_chat_template(self.history, tokenize=False, add_generation_prompt=True)
        answer = generate(self.model, self.tokenizer, prompt, self.max_new_tokens).strip()
        self.history.append({"role": "assistant", "content": answer})
        return answer


def load_session(run_dir: Path, **kwargs) -> ChatSession:
    config_file, adapter_dir = run_dir / "config.json", run_dir / "adapter"
    for needed in (config_file, adapter_dir):
        if not needed.exists():
            raise FileNotFoundError(f"{needed} is missing: is {run_dir} a finished run folder?")
    cfg = RunConfig.from_flat(json.loads(config_file.read_text()))
    model, tokenizer = load_exported_adapter(cfg.model, adapter_dir)
    return ChatSession(model.eval(), tokenizer, **kwargs)


def converse(session: ChatSession, lines: Iterable[str], out: TextIO, prompt: str = "you> ") -> None:
    out.write(prompt)
    out.flush()
    for line in lines:
        message = line.strip()
        if message == "/quit":
            break
        if message == "/reset":
            session.reset()
        elif message:
            out.write(f"model> {session.reply(message)}\n")
        out.write(prompt)
        out.flush()
    out.write("\n")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("run_dir", type=Path, help="a finished run folder (holds config.json and adapter/)")
    parser.add_argument("--max-new-tokens", type=int, default=256)
    parser.add_argument("--system", default="", help="an optional system message")
    args = parser.parse_args(argv)
    session = load_session(args.run_dir, max_new_tokens=args.max_new_tokens, system=args.system)
    converse(session, sys.stdin, sys.stdout)


if __name__ == "__main__":
    main()
