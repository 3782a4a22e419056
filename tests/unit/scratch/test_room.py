"""tunelab/scratch is plain PyTorch: it imports the standard library, torch, safetensors and, of
TuneLab, only models (the model folder and tokenizer), adapters (the registry) and settings, so a
learner reads every line of the model itself. (pyproject's import-linter contracts keep the rest of
TuneLab from importing it.)"""

import ast
import sys
from pathlib import Path

ROOM = Path(__file__).resolve().parents[3] / "tunelab" / "scratch"
ALLOWED = ("torch", "safetensors", "tunelab.models", "tunelab.adapters", "tunelab.settings", "tunelab.scratch")


def imported(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0:
            names.add(node.module)
    return names


def test_scratch_imports_only_torch_safetensors_and_three_tunelab_packages():
    files = sorted(ROOM.glob("*.py"))
    assert {f.stem for f in files} >= {"rmsnorm", "rope", "attention", "mlp", "block", "model", "kv_cache",
                                       "sampling", "lora", "train", "generate"}
    wrong = {f"{f.name}: {name}" for f in files for name in imported(f)
             if name.split(".")[0] not in sys.stdlib_module_names
             and not any(name == a or name.startswith(a + ".") for a in ALLOWED)}
    assert not wrong, wrong


def test_every_file_says_what_it_teaches():
    for f in ROOM.glob("*.py"):
        doc = ast.get_docstring(ast.parse(f.read_text(encoding="utf-8")))
        assert doc and len(doc) > 80, f"{f.name} needs a docstring that says what it teaches"
