"""`tunelab ingest PATH|URL... --collection C` and `tunelab search QUERY --collection C`: thin
wrappers over `tunelab.rag`. Ingest prints per-source counts at the end (and the reasons for what
failed); search prints the ranked chunks."""

from __future__ import annotations

import json
from typing import Annotated

import typer
from rich.markup import escape

from tunelab.cli.common import console, console_err, settings, store
from tunelab.cli.errors import user_errors
from tunelab.cli.jobs import local_sources, submit_detached
from tunelab.rag import ChunkConfig, CrawlConfig, FieldMapping, Filters, Searcher, load_reranker
from tunelab.rag import ingest as run_ingest
from tunelab.rag.registry import CollectionRegistry

MAX_REASONS = 20


def ingest(
    sources: Annotated[list[str], typer.Argument(help="Files, folders, or http(s):// URLs to crawl.", metavar="PATH|URL...")],
    collection: Annotated[str, typer.Option("--collection", "-c", help="Collection to add to (created on first use).")],
    mapping: Annotated[str | None, typer.Option("--mapping", help="Catalogue fields: id=sku,title=name,text=description+features,category=cat,brand=maker,price=price,meta=color+size. Keys left out are guessed.")] = None,
    chunk_size: Annotated[int | None, typer.Option("--chunk-size", help="Largest prose/code chunk (default 1000, or the collection's).")] = None,
    chunk_overlap: Annotated[int | None, typer.Option("--chunk-overlap", help="Units shared by consecutive prose chunks (default 150).")] = None,
    chunk_unit: Annotated[str | None, typer.Option("--chunk-unit", help="chars, or tokens of the embedding model.")] = None,
    embedding_model: Annotated[str | None, typer.Option("--embedding-model", "-e", help="sentence-transformers folder or name (default: the collection's, or the packaged all-MiniLM-L6-v2).")] = None,
    vector_url: Annotated[str | None, typer.Option("--vector-url", help="Chroma server URL for a new collection (default: TUNELAB_VECTOR_URL, or the embedded store).")] = None,
    max_depth: Annotated[int, typer.Option("--max-depth", help="Crawl: links to follow from the start page.")] = 2,
    max_pages: Annotated[int, typer.Option("--max-pages", help="Crawl: most pages to fetch.")] = 100,
    delay: Annotated[float, typer.Option("--delay", help="Crawl: seconds between requests (robots.txt Crawl-delay wins if longer).")] = 1.0,
    batch_size: Annotated[int, typer.Option("--batch-size", help="Chunks embedded per batch.")] = 32,
    detach: Annotated[bool, typer.Option("--detach", help="Queue it as a background job instead (prints the job id).")] = False,
) -> None:
    """Add documents to a collection; unchanged ones are skipped, changed ones re-embedded.

    Reads Markdown, text, HTML, PDF, source code, and JSON/JSONL/CSV product catalogues (one
    document per record); crawls URLs on the same site, honouring robots.txt. Prints, per source,
    how many documents were added, unchanged, updated, failed (with reasons) and skipped.
    """

    with user_errors():
        if detach:
            if vector_url:
                raise ValueError("--vector-url cannot be queued with --detach; set TUNELAB_VECTOR_URL for the worker.")
            submit_detached("ingest", {
                "sources": local_sources(sources), "collection": collection, "mapping": mapping,
                "chunk_size": chunk_size, "chunk_overlap": chunk_overlap, "chunk_unit": chunk_unit,
                "embedding_model": embedding_model, "max_depth": max_depth, "max_pages": max_pages, "delay": delay,
                "batch_size": batch_size})
            return
        chunking = None
        if chunk_size is not None or chunk_overlap is not None or chunk_unit is not None:
            saved = CollectionRegistry(store(), settings()).find(collection)
            base = dict((saved.settings.get("chunking") if saved else None) or {})
            base.update({k: v for k, v in (("size", chunk_size), ("overlap", chunk_overlap), ("unit", chunk_unit))
                         if v is not None})
            chunking = ChunkConfig(**base)
        reports = run_ingest(
            sources, collection, settings=settings(), store=store(), embedding_model=embedding_model,
            mapping=FieldMapping.parse(mapping), chunking=chunking, vector_url=vector_url, batch_size=batch_size,
            crawl_config=CrawlConfig(max_depth=max_depth, max_pages=max_pages, delay_s=delay), console=console_err)
    console.print(f"Ingested into [bold]{escape(collection)}[/]:")
    for r in reports:
        failed = f"[red]failed {r.failed}[/]" if r.failed else "failed 0"
        console.print(f"  {escape(r.source)}: added {r.added}, unchanged {r.unchanged}, updated {r.updated}, {failed}, "
                      f"skipped {r.skipped} ({r.chunks_embedded} chunks embedded)", soft_wrap=True)
    problems = [f for r in reports for f in r.failures]
    for f in problems[:MAX_REASONS]:
        console.print(f"  [{'red' if f.kind == 'failed' else 'yellow'}]{f.kind}[/] {escape(f.source)}: {escape(f.reason)}",
                      soft_wrap=True)
    if len(problems) > MAX_REASONS:
        console.print(f"  ... and {len(problems) - MAX_REASONS} more (kept in the collection's ingest reports)")
    if any(r.failed and not (r.added or r.updated or r.unchanged) for r in reports):
        raise typer.Exit(1)  # a source gave nothing at all


def search(
    query: Annotated[str, typer.Argument(help="What to look for.")],
    collection: Annotated[str, typer.Option("--collection", "-c", help="Collection to search.")],
    mode: Annotated[str, typer.Option("--mode", "-m", help="dense, bm25, or hybrid (both, fused by reciprocal rank).")] = "hybrid",
    k: Annotated[int, typer.Option("--k", "-k", help="Results to show.")] = 5,
    rerank: Annotated[str | None, typer.Option("--rerank", help="Cross-encoder (sentence-transformers folder or cached name) to rerank with.")] = None,
    filter_: Annotated[list[str] | None, typer.Option("--filter", "-f", help="KEY=VALUE metadata filter, repeatable: category=..., brand=..., or any field.")] = None,
    price_min: Annotated[float | None, typer.Option("--price-min", help="Lowest price, inclusive.")] = None,
    price_max: Annotated[float | None, typer.Option("--price-max", help="Highest price, inclusive.")] = None,
    embedding_model: Annotated[str | None, typer.Option("--embedding-model", "-e", help="Must be the collection's model (default: it is).")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object per hit.")] = False,
) -> None:
    """Search a collection and print the best chunks with their score and source."""

    with user_errors():
        filters = Filters.parse(filter_, price_min=price_min, price_max=price_max)
        searcher = Searcher.open(collection, settings=settings(), store=store(), embedding_model=embedding_model)
        reranker = load_reranker(rerank) if rerank else None
        hits = searcher.search(query, mode=mode, k=k, filters=filters, reranker=reranker)  # type: ignore[arg-type]
    if as_json:
        for h in hits:  # one JSON object per line, for scripts
            typer.echo(json.dumps({"id": h.id, "score": h.score, "source": h.source, "text": h.text, "meta": h.meta},
                                  default=str, ensure_ascii=False))
        return
    if not hits:
        console.print("No results.")
        return
    for rank, h in enumerate(hits, start=1):
        title = h.meta.get("title") or ""
        where = f"{escape(h.source)}" + (f" [dim]§ {escape(str(h.meta['section']))}[/]" if h.meta.get("section") else "")
        console.print(f"[bold]{rank}.[/] [cyan]{h.score:.4f}[/] {escape(str(title))}  [dim]{where}[/]", soft_wrap=True)
        snippet = " ".join(h.text.split())
        console.print(f"   {escape(snippet[:240])}{'…' if len(snippet) > 240 else ''}", soft_wrap=True)
