"""The layers in docs/architecture.md hold: imports only go down (import-linter's contracts in
pyproject.toml), and no module is over 400 lines (split such a file by what it does)."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "tunelab"
MAX_LINES = 400


def test_import_contracts_are_kept():
    out = subprocess.run([sys.executable, "-c", "import sys; from importlinter.cli import lint_imports; "
                          "sys.exit(lint_imports(config_filename='pyproject.toml', no_cache=True, no_logo=True))"],
                         cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stdout[-4000:] + out.stderr[-2000:]


def test_no_module_is_over_400_lines():
    big = {str(p.relative_to(ROOT)): n for p in PACKAGE.rglob("*.py")
           if (n := len(p.read_text(encoding="utf-8").splitlines())) > MAX_LINES}
    assert not big, f"split these by what they do: {big}"


def test_function_level_imports_say_why_they_are_lazy():
    """An import inside a function is there to keep a heavy import off the start-up path (torch,
    transformers, ...); the line says so with '# lazy: <reason>'. Every other import goes on top."""
    missing = []
    for path in PACKAGE.rglob("*.py"):
        lines = path.read_text(encoding="utf-8").splitlines()
        for fn in ast.walk(ast.parse("\n".join(lines))):
            if not isinstance(fn, (ast.FunctionDef, ast.AsyncFunctionDef)):
                continue
            for node in ast.walk(fn):
                if isinstance(node, (ast.Import, ast.ImportFrom)) and "# lazy:" not in lines[node.lineno - 1]:
                    missing.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert not missing, f"{len(missing)} function-level imports without '# lazy: <reason>': {sorted(set(missing))[:20]}"
