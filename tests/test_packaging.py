"""An installed neogenesis-bot carries its catalogue: the wheel holds intents/ as bot/_intents."""

import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_the_wheel_ships_the_catalogue_and_the_command(tmp_path):
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(tmp_path), str(ROOT)],
        check=True,
        capture_output=True,
        timeout=300,
    )
    wheel = next(tmp_path.glob("neogenesis_bot-*.whl"))
    names = set(zipfile.ZipFile(wheel).namelist())
    shipped = {Path(p).name for p in (ROOT / "intents").glob("*.yaml")}
    assert {f"bot/_intents/{name}" for name in shipped} <= names
    assert "service/cli.py" in names
    entry_points = next(n for n in names if n.endswith("entry_points.txt"))
    assert "neogenesis-bot = service.cli:main" in zipfile.ZipFile(wheel).read(entry_points).decode()
