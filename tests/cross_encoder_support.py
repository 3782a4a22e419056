"""Cross-encoders for the rerank tests, made from the packaged MiniLM (none ships in a package):
(question, review snippet, answers it?) pairs from the sample Q&A data, and a one-epoch fine-tune
saved as the folder a user would pass to --rerank. The positive snippet of an answerable question is
the one written from a support template (templates.py), found here by pattern, not taken from the
generator's state."""

from __future__ import annotations

import random
import re
from pathlib import Path

from scripts.sample_data.templates import GENERIC_QUESTIONS, GENERIC_SUPPORT, SUPPORT_SNIPPETS


def _pattern(template: str) -> re.Pattern:
    parts = re.split(r"\{[a-z_]+\}", template)
    return re.compile("^" + ".+".join(re.escape(p) for p in parts) + "$")


SUPPORT = [_pattern(t) for t in [*GENERIC_SUPPORT, *(t for ts in SUPPORT_SNIPPETS.values() for t in ts),
                                 *(q[4] for q in GENERIC_QUESTIONS)]]


def is_support(snippet: str) -> bool:
    return any(p.match(snippet) for p in SUPPORT)


def qa_groups(split: str) -> list[tuple[str, list[str], int]]:
    """(question, its snippets, index of the one that answers it) for the answerable questions of `split`."""
    from tunelab.tasks.ecommerce.datasets import load_sample_qa

    groups = []
    for r in load_sample_qa(split):
        positives = [i for i, s in enumerate(r.review_snippets) if is_support(s)]
        if r.is_answerable and len(positives) == 1 and len(r.review_snippets) > 1:
            groups.append((r.question, list(r.review_snippets), positives[0]))
    return groups


def qa_pairs(split: str, negatives: int = 2, seed: int = 0) -> list[tuple[str, str, int]]:
    """(question, snippet, label): each answerable question's answering snippet and `negatives` others."""
    rng = random.Random(seed)
    pairs = []
    for question, snippets, pos in qa_groups(split):
        others = [s for i, s in enumerate(snippets) if i != pos]
        pairs.append((question, snippets[pos], 1))
        pairs += [(question, s, 0) for s in rng.sample(others, min(negatives, len(others)))]
    rng.shuffle(pairs)
    return pairs


def save_cross_encoder(folder: Path, pairs: list[tuple[str, str, int]] | None = None, *, epochs: int = 1,
                       batch_size: int = 16, lr: float = 5e-5, seed: int = 0) -> Path:
    """The packaged MiniLM with a two-label head ([irrelevant, relevant]), fine-tuned on `pairs`
    (untrained when None), saved with its tokenizer into `folder`."""
    import torch

    from tunelab.models.encoders import load_encoder_classifier
    from tunelab.models.packaged import minilm_dir

    torch.manual_seed(seed)
    clf = load_encoder_classifier(minilm_dir(), ["irrelevant", "relevant"])
    if pairs:
        optimizer = torch.optim.AdamW(clf.model.parameters(), lr=lr)
        clf.model.train()
        for _ in range(epochs):
            for start in range(0, len(pairs), batch_size):
                part = pairs[start:start + batch_size]
                batch = clf.tokenizer([q for q, _, _ in part], [p for _, p, _ in part], padding=True,
                                      truncation=True, max_length=128, return_tensors="pt")
                loss = clf.model(**batch, labels=torch.tensor([y for *_, y in part])).loss
                loss.backward()
                optimizer.step()
                optimizer.zero_grad()
        clf.model.eval()
    clf.model.save_pretrained(folder)
    clf.tokenizer.save_pretrained(folder)
    return folder
