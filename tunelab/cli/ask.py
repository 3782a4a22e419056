"""`tunelab ask QUESTION --collection C`: retrieve from a collection, answer with a model from the
numbered sources, print the answer and then the sources it cites (or say that the sources do not
hold the answer). A thin wrapper over `tunelab.rag.answer.ask`."""

from __future__ import annotations

import asyncio
import json
from typing import Annotated

import typer
from rich.markup import escape

from tunelab.cli.common import console, settings, store
from tunelab.cli.errors import print_error, user_errors
from tunelab.rag import MODES, Filters, Searcher, load_reranker
from tunelab.rag.answer import ask as ask_collection
from tunelab.rag.cited_qa import MODES as ANSWER_MODES
from tunelab.tasks.local import open_task_models
from tunelab.tasks.model import TaskModelError


def ask(
    question: Annotated[str, typer.Argument(help="The question, in quotes.")],
    collection: Annotated[str, typer.Option("--collection", "-c", help="Collection to answer from.")],
    model: Annotated[str | None, typer.Option("--model", "-m", help="Model that answers: a catalogue model, an adapter, or upstream/model (default: the default model).")] = None,
    k: Annotated[int, typer.Option("--k", "-k", help="Chunks retrieved and numbered as sources.")] = 5,
    mode: Annotated[str, typer.Option("--mode", help="dense, bm25, or hybrid (both, fused by reciprocal rank).")] = "hybrid",
    rerank: Annotated[str | None, typer.Option("--rerank", help="Cross-encoder folder (or cached name) to rerank the candidates with.")] = None,
    self_query: Annotated[bool, typer.Option("--self-query", help="Let the model turn the question into a search query and filters (category, brand, price) first.")] = False,
    expand: Annotated[bool, typer.Option("--expand", help="Let the model add other phrasings of the question to the search.")] = False,
    filter_: Annotated[list[str] | None, typer.Option("--filter", "-f", help="KEY=VALUE metadata filter, repeatable: category=..., brand=..., or any field.")] = None,
    price_min: Annotated[float | None, typer.Option("--price-min", help="Lowest price, inclusive.")] = None,
    price_max: Annotated[float | None, typer.Option("--price-max", help="Highest price, inclusive.")] = None,
    max_tokens: Annotated[int, typer.Option("--max-tokens", help="Most tokens of the answer.")] = 160,
    answer_mode: Annotated[str, typer.Option("--answer-mode", help="grounded: the answer is the source sentence that answers the question, copied; free: the model writes it; auto: grounded for local models under 3B parameters.")] = "auto",
    as_json: Annotated[bool, typer.Option("--json", help="Print the whole result (answer, citations, sources) as one JSON object.")] = False,
) -> None:
    """Answer a question from a collection, citing the chunks the answer rests on."""


    async def answer(searcher, filters, reranker):
        spec = model or settings().default_model
        async with open_task_models([spec], settings(), store()) as [task_model]:
            return await ask_collection(question, searcher=searcher, model=task_model, k=k, mode=mode,
                                        filters=filters, reranker=reranker, self_query=self_query, expand=expand,
                                        max_tokens=max_tokens, answer_mode=answer_mode)

    with user_errors():
        if k < 1:
            raise ValueError(f"--k must be at least 1, got {k}.")
        if mode not in MODES:  # before any model loads
            raise ValueError(f"Unknown search mode '{mode}'; modes: {', '.join(MODES)}.")
        if answer_mode not in ANSWER_MODES:
            raise ValueError(f"Unknown answer mode '{answer_mode}'; modes: {', '.join(ANSWER_MODES)}.")
        filters = Filters.parse(filter_, price_min=price_min, price_max=price_max)
        searcher = Searcher.open(collection, settings=settings(), store=store())
        reranker = load_reranker(rerank) if rerank else None
        try:
            result = asyncio.run(answer(searcher, filters, reranker))
        except TaskModelError as exc:  # the model failed (context too short, upstream down): say which
            print_error(exc)
            raise typer.Exit(2) from None
    if as_json:
        typer.echo(json.dumps(result.to_dict(), ensure_ascii=False, default=str))
        return
    console.print(escape(result.answer.strip()), soft_wrap=True)
    if self_query or expand:
        searched = f"Searched for {result.query!r}" + (f" with {result.filters}" if result.filters else "")
        if result.expansions:
            searched += f" and {', '.join(map(repr, result.expansions))}"
        console.print(f"[dim]{escape(searched)}[/]", soft_wrap=True)
    if not result.answerable:
        found = f"{len(result.sources)} retrieved" if result.sources else "nothing was retrieved"
        console.print(f"[yellow]The sources do not hold the answer[/] ({found}).")
        return
    if result.quote:
        q = result.quote
        console.print(f"[dim]Quoted from source [{q['source']}], characters {q['start']}-{q['end']}.[/]")
    console.print("\nSources:")
    for c in result.citations:
        name = f"{c.title} ({c.doc_id})" if c.title and c.title != c.doc_id else c.doc_id
        number = escape(f"[{c.index}]")
        console.print(f"[bold]{number}[/] {escape(name)}  [dim]{escape(c.source)}  score {c.score:.4f}[/]",
                      soft_wrap=True)
        console.print(f"    {escape(c.snippet)}", soft_wrap=True)
    if not result.citations:
        console.print("  [yellow](the answer cites none of the retrieved sources)[/]")
