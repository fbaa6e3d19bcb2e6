"""The layering the project promises: the coordinator never imports the hospital side, and neither
side imports the simulations (checked on what a fresh interpreter actually loads, not on text)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[1]


@pytest.mark.parametrize("module, forbidden", [
    ("server.app", {"client", "simulations"}),
    ("client.app", {"server", "simulations"}),
])
def test_app_imports_stay_on_their_side(module, forbidden):
    code = (f"import importlib, json, sys; importlib.import_module({module!r}); "
            "print(json.dumps(sorted({n.split('.')[0] for n in sys.modules})))")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    loaded = set(json.loads(out.stdout.strip().splitlines()[-1]))
    assert not loaded & forbidden
