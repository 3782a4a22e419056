"""`python -m scripts.sample_data [--out DIR] [--seed N]`, from the repository root: write every file
of the synthetic sample, the three JSONL files and the data card (`generate`) and retrieval.jsonl
(`retrieval`), into the packaged sample folder (tunelab/tasks/ecommerce/data/sample) or DIR."""

from __future__ import annotations

import argparse
from pathlib import Path

from scripts.sample_data import generate, retrieval


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=None, help="folder to write into (default: the packaged sample folder)")
    parser.add_argument("--seed", type=int, default=generate.SEED, help=f"random seed (default {generate.SEED})")
    args = parser.parse_args(argv)
    for path in [*generate.write(args.out, args.seed), retrieval.write(args.out, args.seed)]:
        print(path)


if __name__ == "__main__":
    main()
