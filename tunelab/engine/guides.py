"""Which constraint backend an engine uses: `guide_factory(loaded, backend)` returns the function that
makes a per-sequence guide for a request's `Constraint`.

backend None (the default): llguidance (`constraints.ConstraintBackend`), built on the first
constrained request; `NO_CONSTRAINTS`: constrained requests are refused with
`ConstraintUnsupportedError` (a 400); anything else is a callable (constraint, tokenizer) -> guide.
"""

from __future__ import annotations

import importlib.util
import threading
from collections.abc import Callable
from typing import Any

from tunelab.engine.decode import TokenGuide
from tunelab.engine.types import Constraint

ConstraintBackendLike = Callable[[Constraint, Any], TokenGuide]  # (constraint, tokenizer) -> guide
NO_CONSTRAINTS = "none"  # an engine that refuses constrained requests


class ConstraintUnsupportedError(ValueError):
    """A request asked for structured output from an engine without a constraint backend."""

    def __init__(self, constraint: Constraint) -> None:
        super().__init__(
            f"Structured output ({constraint.kind}: response_format json / tunelab_choices / tunelab_regex) needs "
            "a constrained engine, and this server's engine has no constraint backend (llguidance is not "
            "installed, or it was switched off). Install llguidance, or send the request without it."
        )


def guide_factory(loaded, backend: ConstraintBackendLike | str | None = None) -> Callable[[Constraint], TokenGuide]:
    """constraint -> a fresh guide for one sequence (ConstraintError for a constraint that does not compile)."""
    if backend == NO_CONSTRAINTS or (backend is None and importlib.util.find_spec("llguidance") is None):
        def refuse(constraint: Constraint) -> TokenGuide:
            raise ConstraintUnsupportedError(constraint)

        return refuse
    if backend is not None:
        return lambda constraint: backend(constraint, loaded.tokenizer)
    built: list = []
    lock = threading.Lock()

    def llguidance_guide(constraint: Constraint) -> TokenGuide:
        with lock:
            if not built:  # the token trie takes ~0.3 s to build: on the first constrained request
                from tunelab.engine.constraints import ConstraintBackend  # lazy: llguidance and numpy

                built.append(ConstraintBackend.for_model(loaded))
        return built[0].matcher(constraint)

    return llguidance_guide
