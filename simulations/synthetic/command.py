"""The one command line of the i2b2-format note generators: ``python -m simulations.synthetic.notes_X DIR
--notes N --seed S`` writes ``DIR/<note_id>.xml`` (``privacy.deid.evaluation.write_i2b2``)."""

from __future__ import annotations

import argparse
from collections.abc import Callable, Sequence
from pathlib import Path

from privacy.deid.evaluation import GoldNote, write_i2b2


def write_notes_command(generate: Callable[[int, int], list[GoldNote]], description: str | None,
                        argv: Sequence[str] | None = None, default_notes: int = 50) -> list[Path]:
    """Parse ``argv``, write ``generate(notes, seed)`` as i2b2 XML and return the files written."""
    parser = argparse.ArgumentParser(description=description, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("out_dir", type=Path, help="folder to write <note_id>.xml files into")
    parser.add_argument("--notes", type=int, default=default_notes, help="how many notes to write")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    paths = write_i2b2(generate(args.notes, args.seed), args.out_dir)
    print(f"wrote {len(paths)} notes to {args.out_dir}")
    return paths
