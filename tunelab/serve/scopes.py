"""Key scopes: what an API key may call, decided per route in ONE table (`ROUTE_SCOPES`).

  admin  keys, upstreams, traces and alerts, every owner's jobs and feedback; an admin key passes every scope
  train  datasets, jobs, runs, evals, lineage, recipes, RAG uploads, feedback -> datasets and DPO jobs
  infer  chat and completions, tasks, embeddings, collections and their search, feedback, adapter loading

A key has one or more scopes (`tunelab keys create NAME --scope infer --scope train`). A route not
in the table (/health, /metrics, /v1/models, /v1/system, listing adapters) needs only a valid key.
The local caller of a server without keys has every scope. `AccessMiddleware` (access.py) refuses a
request outside the caller's scopes with a 403 naming the scope needed.
"""

from __future__ import annotations

from collections.abc import Iterable

ADMIN, TRAIN, INFER = "admin", "train", "infer"
SCOPES = (ADMIN, TRAIN, INFER)
DEFAULT_SCOPES = (INFER, TRAIN)  # a key made without --scope: what any non-admin key could call before

# path prefix (whole segments) -> the scope it needs; the longest matching prefix wins.
ROUTE_SCOPES: dict[str, str] = {
    "/v1/keys": ADMIN,
    "/v1/upstreams": ADMIN,
    "/v1/traces": ADMIN,  # other callers' prompts and answers
    "/v1/alerts": ADMIN,
    "/v1/jobs": TRAIN,
    "/v1/datasets": TRAIN,
    "/v1/runs": TRAIN,
    "/v1/evals": TRAIN,
    "/v1/lineage": TRAIN,
    "/v1/recipes": TRAIN,
    "/v1/rag/uploads": TRAIN,
    "/v1/feedback/build-dataset": TRAIN,
    "/v1/feedback/train-dpo": TRAIN,
    "/v1/feedback/export": TRAIN,
    "/v1/feedback": INFER,
    "/v1/chat": INFER,
    "/v1/completions": INFER,
    "/v1/embeddings": INFER,
    "/v1/tasks": INFER,
    "/v1/collections": INFER,
    "/v1/adapters/load": INFER,
    "/v1/adapters/unload": INFER,
}

_BY_LENGTH = sorted(ROUTE_SCOPES.items(), key=lambda kv: -len(kv[0]))


def scope_for(path: str) -> str | None:
    """The scope `path` needs, or None when any valid key may call it."""
    for prefix, scope in _BY_LENGTH:
        if path == prefix or path.startswith(prefix + "/"):
            return scope
    return None


def parse_scopes(names: Iterable[str]) -> tuple[str, ...]:
    """Known, deduplicated scope names in the table's order; ValueError naming an unknown one."""
    wanted = {n.strip().lower() for n in names if n.strip()}
    unknown = sorted(wanted - set(SCOPES))
    if unknown:
        raise ValueError(f"Unknown scope '{unknown[0]}': a key's scopes are {', '.join(SCOPES)}.")
    if not wanted:
        raise ValueError(f"A key needs at least one scope: {', '.join(SCOPES)}.")
    return tuple(s for s in SCOPES if s in wanted)


def encode(scopes: Iterable[str]) -> str:
    return ",".join(scopes)


def decode(stored: str | None) -> tuple[str, ...]:
    return tuple(s for s in SCOPES if s in (stored or "").split(","))


def allows(scopes: Iterable[str], needed: str | None) -> bool:
    have = set(scopes)
    return needed is None or needed in have or ADMIN in have
