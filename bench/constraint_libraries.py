"""Structured-output libraries on the default model's tokenizer (SmolLM2, 49,152 tokens): llguidance
(what TuneLab uses), xgrammar and outlines-core, each asked for the same nested JSON schema.

For each: tokenizer set-up time, schema compile time, and the time to compute the next-token mask at
every position of a valid output (tokenized, EOS at the end), checking each token is allowed. One
thread each; libraries not installed are skipped (pip install xgrammar outlines-core to compare).
Prints a line per library and one JSON line.

    python bench/constraint_libraries.py [--home DIR]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from constrained_overhead import SCHEMA  # noqa: E402

INSTANCE = {"title": "Wireless earbuds with noise cancelling", "category": "electronics",
            "price": {"amount": 59.99, "currency": "EUR"},
            "attributes": [{"name": "colour", "value": "black"}, {"name": "battery", "value": "24 hours"},
                           {"name": "weight", "value": "48 g"}],
            "in_stock": True, "tags": ["new", "sale"]}


def allowed(mask_row, token: int) -> bool:
    return bool((int(mask_row[token // 32]) >> (token % 32)) & 1)


def figures(setup_s: float, compile_s: float, times: list[float], ok: bool) -> dict:
    us = sorted(t * 1e6 for t in times)
    return {"tokenizer_setup_s": round(setup_s, 3), "compile_ms": round(compile_s * 1000, 2),
            "mask_us_mean": round(statistics.mean(us), 1), "mask_us_median": round(statistics.median(us), 1),
            "mask_us_p95": round(us[int(0.95 * len(us))], 1), "mask_us_max": round(us[-1], 1), "all_allowed": ok}


def bench_llguidance(tok, ids, vocab):
    import llguidance
    import llguidance.hf
    import llguidance.torch as llt

    t0 = time.perf_counter()
    lltok = llguidance.hf.from_tokenizer(tok, n_vocab=vocab)
    setup = time.perf_counter() - t0
    t0 = time.perf_counter()
    grammar = llguidance.LLMatcher.grammar_from_json_schema(
        SCHEMA, defaults={"whitespace_flexible": False, "item_separator": ", ", "key_separator": ": "})
    m = llguidance.LLMatcher(lltok, grammar)
    compile_s = time.perf_counter() - t0
    mask = llt.allocate_token_bitmask(1, vocab)
    times, ok = [], not m.is_error()
    for t in ids:
        s = time.perf_counter()
        llt.fill_next_token_bitmask(m, mask, 0)
        times.append(time.perf_counter() - s)
        ok &= allowed(mask[0], t)
        m.consume_token(t)
    return figures(setup, compile_s, times, ok and m.is_stopped())


def bench_xgrammar(tok, ids, vocab):
    import xgrammar as xgr

    t0 = time.perf_counter()
    compiler = xgr.GrammarCompiler(xgr.TokenizerInfo.from_huggingface(tok, vocab_size=vocab), max_threads=1,
                                   cache_enabled=False)
    setup = time.perf_counter() - t0
    t0 = time.perf_counter()
    compiled = compiler.compile_json_schema(json.dumps(SCHEMA), any_whitespace=False, separators=(", ", ": "))
    compile_s = time.perf_counter() - t0
    m = xgr.GrammarMatcher(compiled)
    mask = xgr.allocate_token_bitmask(1, vocab)
    times, ok = [], True
    for t in ids:
        s = time.perf_counter()
        m.fill_next_token_bitmask(mask, 0)
        times.append(time.perf_counter() - s)
        ok &= allowed(mask[0], t) and m.accept_token(t)
    return figures(setup, compile_s, times, ok and m.is_terminated())


def _byte_decoder() -> dict[str, int]:
    """GPT-2's byte-level alphabet, reversed: token characters -> bytes."""
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(0xA1, 0xAD)) + list(range(0xAE, 0x100))
    cs, n = bs[:], 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return {chr(c): b for b, c in zip(bs, cs)}


def bench_outlines_core(tok, ids, vocab):
    import torch
    from outlines_core import Guide, Index, Vocabulary
    from outlines_core.json_schema import build_regex_from_schema

    t0 = time.perf_counter()
    dec, eos, special = _byte_decoder(), tok.eos_token_id, set(tok.all_special_ids)
    tokens: dict[bytes, list[int]] = {}
    for text, i in tok.get_vocab().items():
        if i not in special:
            tokens.setdefault(bytes(dec[c] for c in text), []).append(i)
    vocabulary = Vocabulary(eos, tokens)
    setup = time.perf_counter() - t0
    t0 = time.perf_counter()
    index = Index(build_regex_from_schema(json.dumps(SCHEMA), whitespace_pattern=r"[ ]?"), vocabulary)
    compile_s = time.perf_counter() - t0
    guide = Guide(index)
    mask = torch.zeros((1, (vocab + 31) // 32), dtype=torch.int32)
    times, ok = [], True
    for t in ids:
        s = time.perf_counter()
        guide.write_mask_into(mask.data_ptr(), mask.numel(), 4)
        times.append(time.perf_counter() - s)
        ok &= allowed(mask[0], t)
        if t != eos:
            guide.advance(t)
    return figures(setup, compile_s, times, ok and guide.is_finished())


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--home", help="TuneLab home with the default model converted (default: ~/.tunelab)")
    args = ap.parse_args()
    import torch
    from transformers import AutoTokenizer

    from tunelab.models.catalogue import Catalogue
    from tunelab.models.loader import local_path
    from tunelab.settings import Settings
    from tunelab.store import Store

    torch.set_num_threads(1)
    settings = Settings(home=args.home) if args.home else Settings()
    tok = AutoTokenizer.from_pretrained(local_path(Catalogue(Store(settings)).get("smollm2-135m-instruct"), settings))
    vocab = len(tok)
    ids = tok(json.dumps(INSTANCE), add_special_tokens=False)["input_ids"] + [tok.eos_token_id]
    results = {}
    for name, fn in (("llguidance", bench_llguidance), ("xgrammar", bench_xgrammar),
                     ("outlines-core", bench_outlines_core)):
        try:
            results[name] = fn(tok, ids, vocab)
        except ImportError:
            print(f"{name:14s} not installed")
            continue
        r = results[name]
        print(f"{name:14s} set-up {r['tokenizer_setup_s']:6.2f} s  compile {r['compile_ms']:9.1f} ms  mask mean "
              f"{r['mask_us_mean']:7.1f} us  median {r['mask_us_median']:6.1f} us  p95 {r['mask_us_p95']:7.1f} us  "
              f"max {r['mask_us_max']:8.1f} us  valid path allowed: {r['all_allowed']}")
    print(json.dumps({"bench": "constraint_libraries", "vocab": vocab, "tokens": len(ids), **results}))


if __name__ == "__main__":
    main()
