"""Constrained decoding with llguidance: output that must be a JSON object, match a JSON schema, be one
of a fixed set of strings, or match a regex.

`ConstraintBackend(tokenizer)` compiles a `Constraint` once per key (cached) and hands each sequence a
`ConstraintMatcher`: `fill_mask` writes the allowed-token bitmask for the next position, `advance`
consumes the sampled token, and `done` turns true when nothing but EOS may follow (the engine then
stops with "stop"). A constraint llguidance cannot compile raises `ConstraintError` with its message.

Running out of tokens: `closing_plan(remaining)` tells the engine when the output must start closing
to be complete within max_tokens, and the shortest-looking way to do so (forced bytes, closing quotes
and brackets, minimal values), found greedily on a copy of the matcher. So an open JSON object or a
long string still ends as valid output whenever the budget allows its completion at all.

Why llguidance (bench/constraint_libraries.py, SmolLM2's 49,152-token vocabulary): it compiles a nested
schema in ~3 ms against ~1 s (xgrammar) and ~3-4 s (outlines-core), with masks in tens of microseconds
like the others, far below one forward pass; a server meets a new schema per request, so compile rules.
"""

from __future__ import annotations

import json
import threading
from collections import OrderedDict
from collections.abc import Iterable

import numpy as np
import torch

from tunelab.engine.types import Constraint

# JSON as `json.dumps` writes it: one space after ',' and ':' and no other whitespace outside strings,
# so a model cannot spin on newlines and a bounded schema gives bounded output.
JSON_OPTIONS = {"whitespace_flexible": False, "item_separator": ", ", "key_separator": ": "}

# JSON output, closing: inside a string, a quote followed by closing brackets; outside, closing brackets,
# then the shortest values, an opening quote, a separator (a required member comes next).
OUTSIDE_PREFERENCE = [b'""', b"0", b"{}", b"[]", b"null", b"false", b"true", b'"', b","]
CLOSE_SLACK = 8  # start closing this many tokens early: one sampled token can open several structures

# Characters Rust's regex syntax (llguidance's) treats as meta; escaping any of them is allowed there.
_RUST_META = set("\\.+*?()|[]{}^$#&-~")


class ConstraintError(ValueError):
    """The constraint cannot be compiled (bad schema, unsupported keyword, bad regex): a 400 for the route."""


def rust_regex_escape(text: str) -> str:
    return "".join("\\" + ch if ch in _RUST_META else ch for ch in text)


def constraint_key(c: Constraint) -> str:
    """A string that is equal for constraints that compile to the same grammar."""
    return json.dumps([c.kind, c.schema, list(c.choices), c.pattern], sort_keys=True, ensure_ascii=False)


def grammar_for(c: Constraint) -> str:
    """The llguidance grammar (a JSON string) for a constraint; validity is checked when it is compiled."""
    from llguidance import LLMatcher  # lazy: llguidance is slow to import

    try:
        if c.kind == "json_object":
            return LLMatcher.grammar_from_json_schema({"type": "object"}, defaults=JSON_OPTIONS)
        if c.kind == "json_schema":
            if not isinstance(c.schema, dict):
                raise ConstraintError("A json_schema constraint needs a JSON schema object.")
            return LLMatcher.grammar_from_json_schema(c.schema, defaults=JSON_OPTIONS)
        if c.kind == "choice":
            if not c.choices or any(not isinstance(x, str) or not x for x in c.choices):
                raise ConstraintError("A choice constraint needs at least one non-empty string.")
            return LLMatcher.grammar_from_regex("(?:" + "|".join(rust_regex_escape(x) for x in c.choices) + ")")
        if c.kind == "regex":
            if not c.pattern:
                raise ConstraintError("A regex constraint needs a pattern.")
            return LLMatcher.grammar_from_regex(c.pattern)
    except (TypeError, ValueError) as exc:  # llguidance: the schema is not a JSON object
        if isinstance(exc, ConstraintError):
            raise
        raise ConstraintError(f"Invalid {c.kind} constraint: {exc}") from None
    raise ConstraintError(f"Unknown constraint kind '{c.kind}'.")


def apply_bitmask(logits: torch.Tensor, bitmask: torch.Tensor) -> None:
    """logits: (n, vocab) float, bitmask: (n, ceil(vocab/32)) int32, bit j of word w allows token 32*w+j.
    Sets disallowed logits to -inf in place (plain torch: no compiled kernel, nothing to warm up)."""
    shifts = torch.arange(32, dtype=torch.int32, device=bitmask.device)
    allowed = ((bitmask.unsqueeze(-1) >> shifts) & 1).bool().view(bitmask.shape[0], -1)[:, : logits.shape[-1]]
    logits.masked_fill_(~allowed.to(logits.device), float("-inf"))


def new_bitmask(rows: int, vocab_size: int) -> torch.Tensor:
    return torch.zeros((rows, (vocab_size + 31) // 32), dtype=torch.int32)


class _Vocab:
    """What the closing plan needs to know about the tokens: their bytes, lengths and JSON preferences."""

    def __init__(self, lltok, vocab_size: int) -> None:
        self.raw = [lltok.decode_bytes([i]) if i < lltok.vocab_size else b"" for i in range(vocab_size)]
        special = {i for i in range(min(vocab_size, lltok.vocab_size)) if lltok.is_special_token(i)}
        # (vocab,) bytes per token; special and empty tokens never count as shortest
        self.lengths = np.array([len(b) if b and i not in special else 1 << 20 for i, b in enumerate(self.raw)])
        ids = [i for i, b in enumerate(self.raw) if b and i not in special]
        longest_first = lambda group: sorted(group, key=lambda i: (-len(self.raw[i]), i))  # noqa: E731
        brackets = set(b"}]")
        self.in_string = longest_first(i for i in ids if self.raw[i][:1] == b'"' and set(self.raw[i][1:]) <= brackets)
        by_bytes = {self.raw[i]: i for i in reversed(ids)}
        closers = longest_first(i for i in ids if set(self.raw[i]) <= brackets)
        self.outside = closers + [by_bytes[b] for b in OUTSIDE_PREFERENCE if b in by_bytes]
        self.in_number = closers + [by_bytes[b] for b in (b",",) if b in by_bytes]  # end it, add no digits


_NUMBER = set(b"0123456789.eE+-")


def _scan_json(raw: bytes, in_string: bool, escaped: bool, in_number: bool) -> tuple[bool, bool, bool]:
    """Advance a JSON lexer's state (inside a string, after a backslash, inside a number) over `raw`."""
    for c in raw:
        if in_string:
            if escaped:
                escaped = False
            elif c == 0x5C:
                escaped = True
            elif c == 0x22:
                in_string = False
        else:
            in_number = c in _NUMBER
            if c == 0x22:
                in_string = True
    return in_string, escaped, in_number


class ConstraintMatcher:
    """One sequence's position in a compiled constraint. Used by one thread at a time."""

    def __init__(self, matcher, vocab_size: int, vocab_info=None, json_output: bool = False) -> None:
        self._m = matcher
        self.vocab_size = vocab_size
        self._vocab_info = vocab_info  # () -> _Vocab, built on first use
        self._json = json_output
        self._lex = (False, False, False)  # JSON output: inside a string, after a backslash, inside a number
        self._close_estimate: int | None = None  # tokens the last closing plan needed
        self._since_check = 0

    def fill_mask(self, row: torch.Tensor) -> None:
        """Write the allowed next tokens into `row`, a contiguous (ceil(vocab/32),) int32 CPU tensor."""
        self._m.unsafe_compute_mask_ptr(row.data_ptr(), row.numel() * row.element_size())
        if self._m.is_error():
            raise ConstraintError(f"Constraint failed: {self._m.get_error()}")

    def advance(self, token_id: int) -> None:
        """Consume the sampled token; it must have been allowed by the last mask."""
        if not self._m.consume_token(token_id) or self._m.is_error():
            raise ConstraintError(f"Token {token_id} breaks the constraint: {self._m.get_error()}")
        if self._json and self._vocab_info is not None:
            self._lex = _scan_json(self._vocab_info().raw[token_id], *self._lex)

    @property
    def done(self) -> bool:
        """Complete: no token but EOS may follow."""
        return self._m.is_stopped()

    # The single-sequence guide interface (SequentialEngine's TokenGuide): mask, advance, is_done.
    def mask(self, logits: torch.Tensor) -> torch.Tensor:
        """logits (1, vocab) -> a float copy with every forbidden token at -inf."""
        bitmask = new_bitmask(1, self.vocab_size)
        self.fill_mask(bitmask[0])
        out = logits.float().clone()
        apply_bitmask(out, bitmask)
        return out

    def is_done(self) -> bool:
        return self.done

    # Closing before the budget runs out ---------------------------------------------------------

    def closing_plan(self, remaining: int, now: bool = False) -> list[int] | None:
        """Call after each accepted token with the number of tokens still allowed. Returns the tokens
        that complete the output when it is time to close (the plan takes at least `remaining -
        CLOSE_SLACK` of them), else None. The plan is recomputed at every token within a short window
        before that point, and every 8 tokens otherwise (it costs one mask per planned token).
        `now`: close at once if the plan fits in `remaining` (the output started looping)."""
        if self._vocab_info is None or remaining <= 0 or self._m.is_accepting():
            return None  # complete already: more is optional, the budget may end it
        if now:
            return self._plan(limit=remaining)
        self._since_check += 1
        estimate = self._close_estimate
        near = estimate is not None and estimate <= remaining <= estimate + CLOSE_SLACK + 24
        if estimate is not None and not near and self._since_check < 8:
            return None
        self._since_check = 0
        plan = self._plan(limit=remaining)
        self._close_estimate = len(plan) if plan is not None else remaining + 1
        if plan is not None and len(plan) + CLOSE_SLACK >= remaining:
            return plan
        return None

    def _plan(self, limit: int) -> list[int] | None:
        """Greedy completion on a copy: forced tokens first, then (JSON) the most preferred allowed token,
        else the shortest allowed one. None when it takes more than `limit` tokens."""
        vocab = self._vocab_info()
        lex = self._lex
        m = self._m.deep_copy()
        bitmask = new_bitmask(1, self.vocab_size)
        words = bitmask[0].numpy().view(np.uint32)  # the same memory
        plan: list[int] = []
        while len(plan) <= limit:
            if m.is_accepting():
                return plan
            forced = m.compute_ff_tokens()
            if forced:
                if not m.consume_tokens(forced):
                    return None
                plan += forced
                for t in forced:
                    lex = _scan_json(vocab.raw[t], *lex)
                continue
            m.unsafe_compute_mask_ptr(bitmask[0].data_ptr(), bitmask.shape[1] * 4)
            if m.is_error():
                return None
            preference = () if not self._json else vocab.in_string if lex[0] else vocab.in_number if lex[2] \
                else vocab.outside
            pick = next((t for t in preference if (words[t >> 5] >> (t & 31)) & 1), None)
            if pick is None:
                allowed = np.flatnonzero(np.unpackbits(words.view(np.uint8), bitorder="little")[: self.vocab_size])
                if allowed.size == 0:
                    return None
                pick = int(allowed[np.argmin(vocab.lengths[allowed])])
            if not m.consume_token(pick):
                return None
            plan.append(pick)
            lex = _scan_json(vocab.raw[pick], *lex)
        return None

    @property
    def accepting(self) -> bool:
        """The output so far is complete (more may still follow)."""
        return self._m.is_accepting()


class ConstraintBackend:
    """Compiles constraints for one tokenizer with llguidance; compiled grammars are cached by key (LRU)."""

    def __init__(self, tokenizer, *, vocab_size: int | None = None, eos_token_ids: Iterable[int] = (),
                 cache_size: int = 256) -> None:
        import llguidance.hf  # lazy: llguidance is slow to import

        self.vocab_size = int(vocab_size or len(tokenizer))
        eos = sorted(set(eos_token_ids)) or None
        # Building the token trie costs ~0.3 s for a 49k vocabulary: once per backend.
        self._lltok = llguidance.hf.from_tokenizer(tokenizer, n_vocab=self.vocab_size, eos_token=eos)
        self._cache: OrderedDict[str, object] = OrderedDict()
        self._cache_size = cache_size
        self._lock = threading.Lock()
        self._vocab: _Vocab | None = None

    def vocab_info(self) -> _Vocab:
        with self._lock:
            if self._vocab is None:
                self._vocab = _Vocab(self._lltok, self.vocab_size)
            return self._vocab

    @classmethod
    def for_model(cls, loaded, **kwargs) -> ConstraintBackend:
        """A backend for a `LoadedModel`: the mask covers the model's logits, EOS is any of its EOS ids."""
        vocab = int(getattr(loaded.model.config, "vocab_size", 0) or len(loaded.tokenizer))
        return cls(loaded.tokenizer, vocab_size=vocab, eos_token_ids=loaded.eos_token_ids, **kwargs)

    def compile(self, c: Constraint):
        """The compiled (never advanced) llguidance matcher for `c`; raises ConstraintError."""
        from llguidance import LLMatcher  # lazy: llguidance is slow to import

        key = constraint_key(c)
        with self._lock:
            if key in self._cache:
                self._cache.move_to_end(key)
                return self._cache[key]
        grammar = grammar_for(c)
        is_error, messages = LLMatcher.validate_grammar_with_warnings(grammar, self._lltok)
        if is_error:
            raise ConstraintError(f"Cannot compile the {c.kind} constraint: {messages[0] if messages else '?'}")
        template = LLMatcher(self._lltok, grammar, log_level=0)
        if template.is_error():
            raise ConstraintError(f"Cannot compile the {c.kind} constraint: {template.get_error()}")
        with self._lock:
            self._cache[key] = template
            while len(self._cache) > self._cache_size:
                self._cache.popitem(last=False)
        return template

    def __call__(self, c: Constraint, tokenizer=None) -> ConstraintMatcher:
        """SequentialEngine's `constraint_backend(constraint, tokenizer)`; the tokenizer is this backend's."""
        return self.matcher(c)

    def matcher(self, c: Constraint) -> ConstraintMatcher:
        """A fresh matcher for one sequence (a copy of the cached compiled one: microseconds)."""
        template = self.compile(c)
        with self._lock:
            m = template.deep_copy()
        json_output = c.kind in ("json_object", "json_schema")
        return ConstraintMatcher(m, self.vocab_size, self.vocab_info, json_output=json_output)
