"""The CLINC150 benchmark runs end to end (`benchmarks/clinc150.py --quick`, a smoke test of ~20 s)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "benchmarks" / "clinc150.py"

# --quick trains on 20 texts per intent and calibrates at 98% answer precision, so most in-scope
# queries fall back: it scored 40% in-scope when written (the full run: 84.5%). The bound only
# catches a broken pipeline (0%, every answer wrong or nothing answered), not a quality change.
LOW_BOUND = 25.0


def test_clinc150_quick_runs_and_answers_in_scope_queries():
    env = {**os.environ, "BOT_MODEL_CACHE": "off", "BOT_LOG_LEVEL": "WARNING"}
    result = subprocess.run(
        [sys.executable, str(SCRIPT), "--quick"], capture_output=True, text=True, env=env, cwd=ROOT, timeout=120
    )
    assert result.returncode == 0, result.stderr[-3000:]
    tail = result.stdout.strip().splitlines()[-6:]
    accuracy = re.search(r"^in-scope accuracy: ([\d.]+)%", "\n".join(tail), re.MULTILINE)
    assert accuracy, result.stdout
    assert float(accuracy.group(1)) > LOW_BOUND, result.stdout
    assert re.search(r"^out-of-scope recall: [\d.]+%", "\n".join(tail), re.MULTILINE), result.stdout
