"""Query expansion by a model: other phrasings of a question (synonyms, the product's everyday and
catalogue names), searched beside it and fused by reciprocal rank (`Searcher.search(expand=...)`).

The model replies with constrained JSON {"queries": [...]} (at most `n`, each short). As with
self-query, `await expand(question)` is the primary call and calling the object is the sync hook
for a search running in a worker thread (see `tunelab.rag.self_query.run_from_worker`)."""

from __future__ import annotations

import json
from typing import Any

from tunelab.engine.types import Constraint
from tunelab.rag.self_query import current_loop_token, run_from_worker
from tunelab.tasks.model import TaskModel

SYSTEM = ("You help a product search engine. Rewrite the shopper's question as short search queries that "
          "use other words for the same thing: synonyms, the everyday and the catalogue name of the product, "
          "its key features. Reply with JSON only: {\"queries\": [\"...\", ...]}.")


def expansion_schema(n: int) -> dict[str, Any]:
    return {"type": "object",
            "properties": {"queries": {"type": "array", "minItems": 1, "maxItems": n,
                                       "items": {"type": "string", "minLength": 2, "maxLength": 120}}},
            "required": ["queries"], "additionalProperties": False}


def parse_expansion(raw: str, question: str, n: int) -> list[str]:
    """The distinct non-empty queries of the reply other than the question (at most `n`); none for
    a reply that is not the expected JSON."""
    try:
        data = json.loads(raw)
    except ValueError:
        return []
    queries = data.get("queries") if isinstance(data, dict) else None
    if not isinstance(queries, list):
        return []
    seen = {question.strip().lower()}
    out = []
    for q in queries:
        if isinstance(q, str) and q.strip() and q.strip().lower() not in seen:
            seen.add(q.strip().lower())
            out.append(q.strip())
    return out[:n]


class ModelQueryExpander:
    """`n` more queries per question from a task model; a `QueryExpander` for `Searcher.search`."""

    def __init__(self, model: TaskModel, *, n: int = 3, max_tokens: int = 120) -> None:
        if n < 1:
            raise ValueError(f"Query expansion needs n >= 1 queries, got {n}.")
        self.model, self.n, self.max_tokens = model, n, max_tokens
        self.constraint = Constraint(kind="json_schema", schema=expansion_schema(n))
        self._token = current_loop_token()
        self.last: list[str] = []

    def messages(self, question: str) -> list[dict]:
        return [{"role": "system", "content": SYSTEM},
                {"role": "user", "content": f"Question: {question.strip()}\nGive up to {self.n} queries. JSON:"}]

    async def expand(self, question: str) -> list[str]:
        raw = await self.model.complete(self.messages(question), max_tokens=self.max_tokens, constraint=self.constraint)
        self.last = parse_expansion(raw, question, self.n)
        return self.last

    def __call__(self, question: str) -> list[str]:
        return run_from_worker(self.expand, question, token=self._token, what="ModelQueryExpander")
