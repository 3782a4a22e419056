"""Likelihood scoring of candidate continuations, shared by the engines (`engine.score`).

`score_options(forward, prompt_ids, options, device)` -> per option, the natural-log probability of
each of its tokens given the prompt and the option's earlier tokens. The prompt (its start taken
from a `PrefixCache` when one is given) and the options as a prefix tree: options that share their
first tokens ("Home & Garden > Kitchen & Dining > ...") share those tokens' computation. The tree's
nodes are packed into one sequence after the prompt, each at the position of its depth, under a
tree-shaped attention mask (a node sees the prompt, its ancestors and itself). When the tree's logits
fit `max_batch_elements`, the prompt's uncached tokens and the tree go through the model in one
forward pass (about 1.2x the items/s of a prefill and then the tree, bench/prefix_cache.py on the
README's Xeon); larger sets are prefilled first, then scored in several passes within the budget.
`shared_prefix=False` scores each option on its own copy of the prompt cache instead (the reference
the tree is tested against, and the baseline of `bench/prefix_cache.py`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import torch

from tunelab.engine.prefix_cache import PrefixCache, prefill

Forward = Callable[..., Any]  # forward(input_ids=..., cache=..., use_cache=..., logits_to_keep=..., ...)

# Elements (logits + KV cache + mask) one pass may hold: about 512 MB in fp32. Scoring thousands of
# options (every leaf of a taxonomy) then runs in several passes instead of running out of memory.
MAX_BATCH_ELEMENTS = 1 << 27
LOGSOFTMAX_ROWS = 256  # fp32 log_softmax this many positions at a time: bounds the peak memory
# A tree is scored in the prompt's own forward pass when its logits (N x V) fit the pass's budget
# for a vocabulary of up to this size (512 nodes under MAX_BATCH_ELEMENTS); else after the prefill.
MERGED_VOCAB = 1 << 18


def check_score_request(prompt_ids: Sequence[int], options: Sequence[Sequence[int]], context: int) -> None:
    """Raise ValueError, saying which option, for what `score_options` cannot score within `context`."""
    if not prompt_ids:
        raise ValueError("The prompt to score options after is empty.")
    if not options:
        raise ValueError("There are no options to score.")
    for i, opt in enumerate(options):
        if not opt:
            raise ValueError(f"Option {i} has no tokens: every option to score needs at least one.")
        if len(prompt_ids) + len(opt) > context:
            raise ValueError(f"Option {i}: the prompt ({len(prompt_ids)} tokens) and the option ({len(opt)} tokens) "
                             f"do not fit the model's context of {context} tokens.")


def score_options(forward: Forward, prompt_ids: Sequence[int], options: Sequence[Sequence[int]],
                  device: torch.device | str, *, max_batch_elements: int = MAX_BATCH_ELEMENTS,
                  prefix: tuple[PrefixCache, str] | None = None, shared_prefix: bool = True) -> list[list[float]]:
    """Per option, log p(token_j | prompt, option[:j]) for each of its tokens (fp32 log_softmax).

    `forward` is a causal LM (or a wrapper that picks its adapter) called with keyword arguments as
    above; it must return `.logits` and fill the `DynamicCache` it is given. Call `check_score_request`
    first: this function assumes non-empty inputs that fit the context."""
    with torch.inference_mode():
        if shared_prefix:
            merged = _score_with_prefill(forward, prompt_ids, options, device, prefix, max_batch_elements)
            if merged is not None:
                return merged
        out, cache = prefill(forward, prompt_ids, device, prefix)
        first = torch.log_softmax(out.logits[0, -1].float(), dim=-1)  # (V,): each option's first token
        scores = [[float(first[opt[0]])] for opt in options]
        rest = [i for i, opt in enumerate(options) if len(opt) > 1]
        if not rest:
            return scores
        vocab = out.logits.shape[-1]
        layers = [(layer.keys, layer.values) for layer in cache.layers]  # (1, H, P, D) each
        kv_per_token = sum(k.shape[1] * k.shape[3] * 2 for k, _ in layers)
        if shared_prefix:
            _score_tree(forward, layers, options, rest, scores, device, vocab, kv_per_token, max_batch_elements)
            return scores
        width = max(len(options[i]) - 1 for i in rest)  # option tokens fed to the model, right-padded
        per_row = width * vocab + (len(prompt_ids) + width) * kv_per_token
        rows = max(1, max_batch_elements // per_row)
        for start in range(0, len(rest), rows):
            chunk = rest[start:start + rows]
            _score_rows(forward, layers, [options[i] for i in chunk], [scores[i] for i in chunk], device)
    return scores


class _Tree:
    """The options' token prefixes as nodes: node of option[:j + 1] (j < len - 1) feeds token
    option[j] at depth j and its logits score option[j + 1]. `nodes`: (token, parent node or -1)."""

    def __init__(self) -> None:
        self.nodes: list[tuple[int, int]] = []
        self.depth: list[int] = []
        self._index: dict[tuple[int, int], int] = {}

    def add(self, opt: Sequence[int]) -> list[int]:
        """The nodes that score opt[1:], in order (adding the missing ones)."""
        path, parent = [], -1
        for j, tok in enumerate(opt[:-1]):
            key = (parent, int(tok))
            node = self._index.get(key)
            if node is None:
                node = self._index[key] = len(self.nodes)
                self.nodes.append((int(tok), parent))
                self.depth.append(j)
            path.append(node)
            parent = node
        return path

    def new_nodes(self, opt: Sequence[int]) -> int:
        """How many nodes `add(opt)` would create."""
        parent = -1
        for j, tok in enumerate(opt[:-1]):
            node = self._index.get((parent, int(tok)))
            if node is None:
                return len(opt) - 1 - j
            parent = node
        return 0


def _tree_of(options, rest) -> tuple[_Tree, list]:
    tree, members = _Tree(), []
    for i in sorted(rest, key=lambda i: list(options[i])):
        members.append((i, tree.add(options[i])))
    return tree, members


def _score_with_prefill(forward, prompt_ids, options, device, prefix, budget) -> list[list[float]] | None:
    """The prompt's uncached tokens and the whole option tree in one forward pass (one call instead
    of two, and larger matrices: faster on a CPU with AMX or on a GPU): the prompt's rows attend
    causally, the tree's nodes to the whole prompt and their ancestors. None when the tree's logits
    may not fit `budget` (then `score_options` prefills first and splits the tree by the budget)."""
    from transformers import DynamicCache  # lazy: transformers is slow to import

    rest = [i for i, opt in enumerate(options) if len(opt) > 1]
    tree, members = _tree_of(options, rest)
    n = len(tree.nodes)
    if (n + 1) * MERGED_VOCAB > budget:
        return None
    cached, layers = (0, None) if prefix is None else prefix[0].lookup(prefix[1], prompt_ids)
    n_prompt, m = len(prompt_ids), len(prompt_ids) - cached
    allowed = torch.zeros((m + n, n_prompt + n), dtype=torch.bool)
    allowed[:, :cached] = True
    allowed[:m, cached:n_prompt] = torch.ones((m, m), dtype=torch.bool).tril_()
    allowed[m:, :n_prompt] = True
    allowed[m:, n_prompt:] = _tree_mask(tree)
    feed = torch.tensor([list(prompt_ids[cached:]) + [tok for tok, _ in tree.nodes]], device=device)
    positions = torch.tensor([list(range(cached, n_prompt)) + [n_prompt + d for d in tree.depth]], device=device)
    cache = DynamicCache(ddp_cache_data=layers) if layers is not None else DynamicCache()
    # An fp32 additive mask: attention takes it under any weights' dtype (sdpa and eager alike)
    mask = torch.zeros(allowed.shape).masked_fill_(~allowed, torch.finfo(torch.float32).min)
    logits = forward(input_ids=feed, cache=cache, use_cache=True, logits_to_keep=n + 1, position_ids=positions,
                     attention_mask=mask[None, None].to(device)).logits[0]  # (1 + N, V)
    if prefix is not None:  # the prompt's blocks (the tree's nodes after them are left out)
        prefix[0].insert(prefix[1], prompt_ids, [(layer.keys, layer.values) for layer in cache.layers], start=cached)
    first = torch.log_softmax(logits[0].float(), dim=-1)
    scores = [[float(first[opt[0]])] for opt in options]
    if n:
        _collect(logits[1:], tree, members, options, scores, device)
    return scores


def _tree_mask(tree: _Tree) -> torch.Tensor:
    """(N, N) bool: node i sees node j when j is i or one of its ancestors."""
    n = len(tree.nodes)
    see = torch.zeros((n, n), dtype=torch.bool)
    for node, (_, parent) in enumerate(tree.nodes):  # parents come before children: copy the parent's row
        if parent >= 0:
            see[node] = see[parent]
        see[node, node] = True
    return see


def _score_tree(forward, layers, options, rest, scores, device, vocab, kv_per_token, budget) -> None:
    """Score option[1:] of every option in `rest` through prefix trees of at most `budget` elements
    each (options in token order, so neighbours that share prefixes land in one tree)."""
    n_prompt = layers[0][0].shape[2]
    order = sorted(rest, key=lambda i: list(options[i]))
    tree, members = _Tree(), []
    for i in order:
        n = len(tree.nodes) + tree.new_nodes(options[i])
        if members and n * (vocab + n_prompt + n + kv_per_token) > budget:
            _run_tree(forward, layers, tree, members, options, scores, device)
            tree, members = _Tree(), []
        members.append((i, tree.add(options[i])))
    _run_tree(forward, layers, tree, members, options, scores, device)


def _run_tree(forward, layers, tree: _Tree, members, options, scores, device) -> None:
    from transformers import DynamicCache  # lazy: transformers is slow to import

    n_prompt, n = layers[0][0].shape[2], len(tree.nodes)
    dtype = layers[0][0].dtype
    allowed = torch.cat([torch.ones((n, n_prompt), dtype=torch.bool), _tree_mask(tree)], dim=1)
    mask = torch.zeros(allowed.shape, dtype=dtype).masked_fill_(~allowed, torch.finfo(dtype).min)
    feed = torch.tensor([[tok for tok, _ in tree.nodes]], device=device)  # (1, N)
    positions = torch.tensor([[n_prompt + d for d in tree.depth]], device=device)
    cache = DynamicCache(ddp_cache_data=list(layers))  # the update concatenates: `layers` stay the prompt's
    logits = forward(input_ids=feed, cache=cache, use_cache=True, logits_to_keep=0, position_ids=positions,
                     attention_mask=mask[None, None].to(device)).logits[0]  # (N, V)
    _collect(logits, tree, members, options, scores, device)


def _collect(logits, tree: _Tree, members, options, scores, device) -> None:
    """Append each member option's token log-probabilities, read from the tree's (N, V) logits."""
    n = len(tree.nodes)
    # Each (node, next token) pair once: log_softmax over a few hundred positions at a time, in fp32.
    pairs = sorted({(node, int(tok)) for i, path in members for node, tok in zip(path, options[i][1:])})
    nodes = torch.tensor([p[0] for p in pairs], device=device)
    tokens = torch.tensor([p[1] for p in pairs], device=device)
    values = torch.empty(len(pairs), device=device)
    for start in range(0, n, LOGSOFTMAX_ROWS):
        sel = (nodes >= start) & (nodes < start + LOGSOFTMAX_ROWS)
        if bool(sel.any()):
            block = torch.log_softmax(logits[start:start + LOGSOFTMAX_ROWS].float(), dim=-1)
            values[sel] = block[nodes[sel] - start, tokens[sel]]
    found = dict(zip(pairs, values.tolist()))
    for i, path in members:
        scores[i].extend(found[(node, int(tok))] for node, tok in zip(path, options[i][1:]))


def _score_rows(forward: Forward, layers, options: list[Sequence[int]], scores: list[list[float]], device) -> None:
    """Append to each of `scores` the log-probabilities of its option's tokens after the first: one
    forward pass of option[:-1] for every option at once over `len(options)` copies of the prompt cache.
    Right padding needs no attention mask: it comes after every real token, so causal attention
    already keeps it out of their view, and position ids are the same for every row."""
    from transformers import DynamicCache  # lazy: transformers is slow to import

    n = len(options)
    width = max(len(o) - 1 for o in options)
    feed = torch.zeros((n, width), dtype=torch.long, device=device)  # (N, W); pad id 0 is never read back
    for r, opt in enumerate(options):
        feed[r, :len(opt) - 1] = torch.tensor(list(opt[:-1]), device=device)
    cache = DynamicCache(ddp_cache_data=[(k.expand(n, -1, -1, -1), v.expand(n, -1, -1, -1)) for k, v in layers])
    logits = forward(input_ids=feed, cache=cache, use_cache=True, logits_to_keep=0).logits  # (N, W, V)
    for r, opt in enumerate(options):
        m = len(opt) - 1
        # One row at a time in fp32: the (N, W, V) fp32 copy would double the peak memory.
        logp = torch.log_softmax(logits[r, :m].float(), dim=-1)  # (m, V)
        target = torch.tensor(list(opt[1:]), device=device)
        scores[r].extend(logp.gather(1, target[:, None])[:, 0].tolist())
