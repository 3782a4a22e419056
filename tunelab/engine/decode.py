"""The decode core every generator shares (both engines and `generation.stream_text`): one sequence
from the logits of its next position to `TokenEvent`s.

`Decoding.step(logits)` masks the logits with the sequence's constraint (if any), samples, and
accepts the token: EOS, the constraint's end, a stop string or the budget end the sequence. A
constrained sequence is also closed in time: once the constraint's closing plan says so, the plan's
tokens (what the grammar needs to be complete; no forward pass, they do not depend on the model) are
accepted at once, so constrained output is complete within max_tokens. Frequency and presence
penalties apply to the logits before the constraint's mask. A sequence that starts repeating one
block of tokens is caught by the loop guard (repetition.py): free text ends there; constrained
output that can be closed (a JSON string looping inside its object) is closed at once by the plan.
"""

from __future__ import annotations

from collections import Counter
from typing import Protocol

import torch

from tunelab.engine.detokenize import IncrementalDecoder, StopStrings
from tunelab.engine.repetition import LoopGuard, apply_penalties
from tunelab.engine.sampling import sample_next, token_logprobs
from tunelab.engine.types import GenRequest, TokenEvent


class TokenGuide(Protocol):
    """Per-sequence state of an output constraint (constraints.ConstraintMatcher is the real one).
    A guide may also have `closing_plan(remaining) -> list[int] | None` (see Decoding)."""

    def mask(self, logits: torch.Tensor) -> torch.Tensor:
        """logits (1, vocab) -> the same with every token the constraint forbids set to -inf."""
        ...

    def advance(self, token_id: int) -> None: ...

    def is_done(self) -> bool:
        """True once the output is complete (generation stops with finish_reason 'stop')."""
        ...


def budget_for(prompt_len: int, max_tokens: int, context: int) -> int:
    """Tokens a sequence may generate; ValueError when the prompt leaves no room in the context."""
    if prompt_len == 0:
        raise ValueError("The prompt is empty.")
    room = context - prompt_len
    if room <= 0:
        raise ValueError(f"The prompt has {prompt_len} tokens; the model's context is {context}.")
    return min(max_tokens, room)


class Decoding:
    """One sequence being generated. Not thread-safe: the thread that runs the model owns it.

    After each `step`, `last` is the token to feed the model next and `finish` is None while the
    sequence goes on ("stop" or "length" once it ended)."""

    def __init__(self, req: GenRequest, tokenizer, eos_token_ids, *, context: int,
                 guide: TokenGuide | None = None, device: torch.device | str = "cpu") -> None:
        p = req.params
        self.req, self.tokenizer, self.eos, self.guide = req, tokenizer, eos_token_ids, guide
        self.budget = budget_for(len(req.prompt_ids), p.max_tokens, context)
        self.generator = torch.Generator(device=device).manual_seed(p.seed) if p.seed is not None else None
        self.decoder, self.stops = IncrementalDecoder(tokenizer), StopStrings(p.stop)
        self.token_ids: list[int] = []
        self.last: int | None = None
        self.finish: str | None = None
        self._closes = guide is not None and hasattr(guide, "closing_plan")
        self._counts: Counter = Counter()  # generated tokens, for the penalties
        self._loops = LoopGuard() if p.loop_guard and (guide is None or self._closes) else None
        self._looped = False  # constrained output that started looping: close it at once

    @property
    def text(self) -> str:
        """The text so far, cut at a stop string (held-back text included)."""
        return self.stops.text

    def step(self, logits: torch.Tensor) -> list[TokenEvent]:
        """logits: (1, vocab) for the sequence's next position -> the events it produces."""
        p = self.req.params
        logits = apply_penalties(logits, self._counts, p.frequency_penalty, p.presence_penalty)
        if self.guide is not None:
            logits = self.guide.mask(logits)
        token = int(sample_next(logits, self.req.params, self.generator)[0])
        if token in self.eos:
            self.finish = "stop"
            return [self._event(None, self.stops.flush())]
        logprob, top = None, []
        if self.req.logprobs is not None:
            # Of the distribution sampled from, before temperature (the constraint mask included);
            # forbidden tokens (-inf) are left out of the top list.
            logprob, ids = token_logprobs(logits[0], token, self.req.logprobs)
            top = [(self.tokenizer.decode([t]), v) for t, v in ids if v != float("-inf")]
        events = [self._accept(token, logprob, top)]
        if self.finish is None and self._closes:
            plan = self.guide.closing_plan(self.budget - len(self.token_ids), now=self._looped)
            self._looped = False  # one try: a plan that does not fit yet is left to the budget's closing
            for i, t in enumerate(plan or ()):
                events.append(self._accept(t, None, [], closes=i == len(plan) - 1))
                if self.finish is not None:
                    break
        return events

    def abort_event(self) -> TokenEvent:
        """The final event of a sequence that was cancelled or whose engine stopped."""
        self.finish = "abort"
        return self._event(None, "")

    def _accept(self, token: int, logprob, top, closes: bool = False) -> TokenEvent:
        """Append a generated token: constraint, text, stop strings, budget. `closes`: the final token
        of a closing plan (the output is complete)."""
        if self.guide is not None:
            self.guide.advance(token)
        self.token_ids.append(token)
        self._counts[token] += 1
        self.last = token
        text, stopped = self.stops.push(self.decoder.push(token))
        looped = self._loops is not None and self._loops.looping(self.token_ids)
        if looped and self.guide is not None:  # the grammar must be closed, not cut: step() does it, once
            self._loops, self._looped, looped = None, True, False
        if stopped or closes or looped or (self.guide is not None and self.guide.is_done()):
            self.finish = "stop"  # a stop string, or the constraint is complete (EOS the only way on)
        elif len(self.token_ids) >= self.budget:
            self.finish = "length"
        if self.finish is not None:
            text += self.stops.flush()
        return self._event(token, text, logprob, top)

    def _event(self, token: int | None, text: str, logprob=None, top=()) -> TokenEvent:
        return TokenEvent(token_id=token, text=text, logprob=logprob, top_logprobs=list(top),
                          finish_reason=self.finish, prompt_tokens=len(self.req.prompt_ids),
                          completion_tokens=len(self.token_ids))
