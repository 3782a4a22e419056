"""Prefix caching in the batching engine, on the tiny model: requests that share a long prompt start
get the very tokens they get with the cache off at temperature 0 (base, adapters, mixed batches,
constrained output), the cache is used (hits, reused tokens), a prefix computed under one adapter is
never served to another, eviction keeps within the budget, and scores are the same to 1e-4."""

from __future__ import annotations

import asyncio

import pytest
import torch
from engine_helpers import collect, make_lora
from test_engine_scoring import assert_close, direct, resolver

from tunelab.engine.batching import BatchingEngine
from tunelab.engine.prefix_cache import PrefixCache
from tunelab.engine.sampling import SamplingParams
from tunelab.engine.scoring import score_options
from tunelab.engine.types import Constraint, GenRequest, ScoreRequest

SHARED = ("You are a product catalogue assistant. Classify the product by its full path in the Google "
          "Product Taxonomy and reply with the path only. ") * 3
TAILS = ["Stainless steel water bottle, 750 ml", "Wireless earbuds with noise cancelling", "Running shoes, size 42",
         "A ceramic teapot with a bamboo handle"]
GREEDY = SamplingParams(temperature=0.0, max_tokens=12)


@pytest.fixture(scope="module")
def adapters(tmp_path_factory, tiny_model_dir) -> dict[str, str]:
    root = tmp_path_factory.mktemp("prefix-loras")
    return {name: str(make_lora(tiny_model_dir, root / name, seed=seed)) for name, seed in (("a", 3), ("b", 4))}


@pytest.fixture
def load_tiny(settings, store, tiny_model_dir):
    from tunelab.models.catalogue import Catalogue
    from tunelab.models.loader import load_model

    Catalogue(store).add("tiny", str(tiny_model_dir))
    return lambda: load_model("tiny", settings, store=store)


def run(coro):
    return asyncio.run(asyncio.wait_for(coro, timeout=120))


def requests(tok, rounds: int = 2, constraint: Constraint | None = None):
    """Each tail twice per round, alternating base, a and b (mixed batches), all sharing SHARED."""
    out = []
    for r in range(rounds):
        for i, tail in enumerate(TAILS):
            adapter = (None, "a", "b")[(i + r) % 3]
            out.append(GenRequest(request_id=f"r{r}-{i}", prompt_ids=tok(SHARED + tail)["input_ids"], params=GREEDY,
                                  adapter=adapter, constraint=constraint))
    return out


def generate_all(loaded, adapters, reqs, **kw):
    async def go():
        engine = BatchingEngine(loaded, adapter_paths=resolver(adapters), max_batch_size=4, **kw)
        await engine.start()
        first = await collect(engine.generate(reqs[0]))  # alone: the next ones find its blocks
        rest = await asyncio.gather(*(collect(engine.generate(r)) for r in reqs[1:]))
        stats = engine.stats().prefix_cache
        await engine.stop()
        return [first["ids"]] + [r["ids"] for r in rest], stats

    return run(go())


@pytest.mark.parametrize("constraint", [None, Constraint(kind="choice", choices=("Home & Garden", "Apparel"))],
                         ids=["free", "choice"])
def test_tokens_equal_with_the_cache_on_and_off(load_tiny, adapters, constraint):
    reqs = requests(load_tiny().tokenizer, constraint=constraint)
    off, none = generate_all(load_tiny(), adapters, reqs)
    on, stats = generate_all(load_tiny(), adapters, reqs, prefix_cache_bytes=64 << 20)
    assert none is None
    assert on == off
    assert len({tuple(x) for x in off}) > 1  # the adapters and tails really change the output
    # Every request after the first of its weights reuses the shared start.
    assert stats.hits >= len(reqs) - 3 and stats.hit_tokens >= (len(reqs) - 3) * 16 and stats.bytes > 0


def test_a_prefix_is_reused_only_under_the_weights_it_was_computed_with(load_tiny, adapters):
    tok = load_tiny().tokenizer
    ids = tok(SHARED + TAILS[0])["input_ids"]
    reqs = [GenRequest(request_id=f"x{i}", prompt_ids=ids, params=GREEDY, adapter=a)
            for i, a in enumerate([None, "a", "b", "a"])]
    _, stats = generate_all(load_tiny(), adapters, reqs, prefix_cache_bytes=64 << 20)
    assert (stats.hits, stats.misses) == (1, 3)  # only the second request under "a" found blocks


def test_eviction_keeps_the_cache_within_its_budget():
    layers = [(torch.randn(1, 2, 40, 8), torch.randn(1, 2, 40, 8)) for _ in range(3)]
    block_bytes = 3 * 2 * (2 * 8 * 8 * 4)  # 3 layers, keys and values, 8 tokens of (2 heads x 8) fp32
    cache = PrefixCache(budget_bytes=6 * block_bytes, block_size=8)
    first, second = list(range(40)), list(range(100, 140))
    cache.insert("", first, layers)  # 5 blocks
    n, got = cache.lookup("", first + [1])
    assert n == 40 and torch.equal(got[1][0], layers[1][0])
    cache.insert("", second, layers)  # 5 more: over budget, the least recently used go first
    s = cache.stats()
    assert s.bytes <= 6 * block_bytes and s.blocks == 6 and s.evicted_blocks == 4
    assert cache.lookup("", first + [1])[0] == 8  # the chain's start outlived its end
    assert cache.lookup("", second + [1])[0] == 40
    cache.drop("")
    assert cache.stats().blocks == 0 and cache.stats().bytes == 0


def test_scores_with_the_cache_and_the_prefix_tree_equal_a_full_forward(load_tiny, adapters):
    loaded = load_tiny()
    tok = loaded.tokenizer
    paths = ["Home & Garden > Kitchen & Dining > Tableware", "Home & Garden > Kitchen & Dining > Kitchen Tools",
             "Home & Garden > Decor", "Apparel & Accessories > Shoes", "Apparel & Accessories > Clothing > Dresses",
             "Home & Garden"]
    options = [tok(p, add_special_tokens=False)["input_ids"] + [tok.eos_token_id] for p in paths]
    prompts = [tok(SHARED + t)["input_ids"] for t in TAILS[:2]]
    want = [direct(loaded.model, p, options) for p in prompts]

    async def go():
        engine = BatchingEngine(loaded, adapter_paths=resolver(adapters), prefix_cache_bytes=64 << 20)
        await engine.start()
        got = [await engine.score(ScoreRequest(request_id=f"s{i}", prompt_ids=p, options=options))
               for i, p in enumerate(prompts)]
        stats = engine.stats().prefix_cache
        await engine.stop()
        return got, stats

    got, stats = run(go())
    for g, w in zip(got, want):
        assert_close(g, w)
    assert stats.hits == 1 and stats.hit_tokens >= 16
    # The tree in several passes (a tiny budget), and each option on its own, give the same numbers.
    with torch.inference_mode():
        tree = score_options(loaded.model, prompts[0], options, loaded.device, max_batch_elements=1)
        alone = score_options(loaded.model, prompts[0], options, loaded.device, shared_prefix=False)
    assert_close(tree, want[0])
    assert_close(alone, want[0])


def test_the_prompt_and_its_tree_in_one_pass_equal_two_passes_and_cache_the_same_blocks(load_tiny):
    loaded = load_tiny()
    tok = loaded.tokenizer
    paths = ["Home & Garden > Kitchen & Dining", "Home & Garden > Decor", "Apparel", "Apparel & Accessories"]
    options = [tok(p, add_special_tokens=False)["input_ids"] for p in paths] + [[tok.eos_token_id]]
    prompts = [tok(SHARED + t)["input_ids"] for t in TAILS[:2]]
    merged, split = PrefixCache(64 << 20), PrefixCache(64 << 20)
    with torch.inference_mode():
        for p in prompts:  # the second one starts from the first one's cached blocks
            one = score_options(loaded.model, p, options, loaded.device, prefix=(merged, ""))
            two = score_options(loaded.model, p, options, loaded.device, prefix=(split, ""),
                                max_batch_elements=1)  # too small a budget for one pass: prefill, then the tree
            assert_close(one, two)
            assert_close(one, direct(loaded.model, p, options))
        # Only single-token options: no tree, the first token's scores alone.
        firsts = score_options(loaded.model, prompts[0], [[5], [7]], loaded.device, prefix=(merged, ""))
    assert_close(firsts, direct(loaded.model, prompts[0], [[5], [7]]))
    assert (merged.stats().hits, split.stats().hits) == (2, 1)  # the second prompt; then the first one again
    assert merged.stats().blocks == split.stats().blocks > 0
    n, got = merged.lookup("", prompts[1])
    _, want = split.lookup("", prompts[1])
    for (gk, gv), (wk, wv) in zip(got, want):  # the tree's nodes never reach the cache
        assert gk.shape == wk.shape and torch.allclose(gk, wk, atol=1e-5) and torch.allclose(gv, wv, atol=1e-5)
