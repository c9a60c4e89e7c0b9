"""The layering of design.md, checked: headless modules never import Textual; import-linter contracts hold."""

from __future__ import annotations

import pkgutil
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import tui_pacs

REPO = Path(__file__).resolve().parents[2]
HEADLESS = ("domain", "config", "store", "net", "imaging", "services")


def headless_modules() -> list[str]:
    names = []
    for package in HEADLESS:
        path = Path(tui_pacs.__file__).parent / package
        names.append(f"tui_pacs.{package}")
        names += [f"tui_pacs.{package}.{m.name}" for m in pkgutil.walk_packages([str(path)])]
    return names


@pytest.mark.parametrize("module", headless_modules())
def test_headless_module_does_not_pull_in_textual(module: str) -> None:
    code = f"import sys, importlib; importlib.import_module({module!r}); print('textual' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "False"


def test_cli_ls_does_not_import_textual_or_pynetdicom(tmp_path: Path) -> None:
    code = (
        "import sys, os; os.environ['TUI_PACS_HOME'] = sys.argv[1];"
        "from tui_pacs.cli import main\n"
        "try:\n    main(['ls'])\nexcept SystemExit:\n    pass\n"
        "print(sorted(m for m in ('textual', 'pynetdicom') if m in sys.modules))"
    )
    result = subprocess.run([sys.executable, "-c", code, str(tmp_path)], capture_output=True, text=True, cwd=REPO)
    assert result.stdout.strip().splitlines()[-1] == "[]", result.stdout + result.stderr


def test_import_linter_contracts() -> None:
    lint = shutil.which("lint-imports") or str(Path(sys.executable).parent / "lint-imports")
    result = subprocess.run([lint], capture_output=True, text=True, cwd=REPO, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
