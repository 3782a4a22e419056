"""RAG: ingest throughput against the embedding model alone, and query latency at 100,000 chunks.

Ingest: `--docs` catalogue records and `--docs`/10 Markdown buying guides (bench/rag_data.py) go
through the real `tunelab.rag.ingest` (load, chunk, embed, Chroma writes, store rows, BM25 rebuild)
into a fresh collection of a temporary TuneLab home. The limit is the packaged MiniLM embedding the
very same chunk texts in the very same batches of 32 (`sentence_embedder().embed`) and nothing else.
Both get the model already loaded. Rounds alternate (ingest, limit, ingest, limit, ...) and the best
round of each counts: the machine is shared and noisy. Target: ingest >= 0.8x the limit.

Queries: a `--chunks` (100,000) collection built the bench way, since embedding 100k chunks on a
CPU takes hours: the ingested chunks (real texts, real MiniLM vectors) plus perturbed copies of
them: the text with a variant line added, the vector plus Gaussian noise, re-normalised (cosine
~0.9 to its original). They are written through `VectorCollection.replace_sources` and the BM25
index is rebuilt from the vector store as ingest does, so `Searcher` reads a real 100k Chroma
collection and a real 100k BM25 index. Per query, interleaved: the dense limit (one query
embedding + one raw Chroma query, same k and fields), TuneLab dense, hybrid, and hybrid + rerank
(a cross-encoder scores the top 20 fused candidates; it is the packaged MiniLM with a fresh,
untrained one-label head, which costs what a trained one would). Prints p50/p95 ms and the ratios;
the last line is JSON.

    python bench/rag.py [--docs 1500] [--chunks 100000] [--queries 80] [--rounds 2] [--threads 1]
    python bench/rag.py --quick     # 150 records, 10,000 chunks, 20 queries, one round: < 2 minutes
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
import rag_data  # noqa: E402

K = 10  # results per query
RERANK_DEPTH = 20  # fused candidates the cross-encoder scores
COPY_COSINE = 0.9  # cosine of a perturbed copy's vector to its original


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


class Recording:
    """The embedder as ingest sees it: notes each batch (so the limit embeds the very same batches)
    and the seconds spent inside the model."""

    def __init__(self, inner) -> None:
        self.inner, self.name, self.dimension = inner, inner.name, inner.dimension
        self.batches: list[list[str]] = []
        self.seconds = 0.0

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        start = time.perf_counter()
        out = self.inner.embed(texts)
        self.seconds += time.perf_counter() - start
        self.batches.append(list(texts))
        return out


# -- ingest -------------------------------------------------------------------------------------
def ingest_rounds(embedder, settings, store, corpus: list[Path], rounds: int) -> dict:
    from tunelab.rag import ingest

    # Warm-up: imports (chromadb, bm25s), the Chroma client and the SQLite file, as in a running app.
    warm = corpus[0].parent / "warm.md"
    warm.write_text("# Warm-up\n\nOne small document.")
    ingest([warm], "bench-warmup", settings=settings, store=store, embedder=embedder, progress=False)
    best_ingest, best_limit, inside = float("inf"), float("inf"), 0.0
    batches: list[list[str]] = []
    chunks = 0
    for r in range(rounds):
        rec = Recording(embedder)
        start = time.perf_counter()
        reports = ingest(corpus, f"bench-ingest-{r}", settings=settings, store=store, embedder=rec, progress=False)
        wall = time.perf_counter() - start
        chunks = sum(rep.chunks_embedded for rep in reports)
        failed = sum(rep.failed for rep in reports)
        if failed:
            sys.exit(f"ingest failed on {failed} documents: {[f for rep in reports for f in rep.failures][:3]}")
        batches = rec.batches
        start = time.perf_counter()
        for batch in batches:
            embedder.embed(batch)
        limit = time.perf_counter() - start
        log(f"round {r + 1}: ingest {wall:.1f} s (embedding {rec.seconds:.1f} s of it), limit {limit:.1f} s")
        if wall < best_ingest:
            best_ingest, inside = wall, rec.seconds
        best_limit = min(best_limit, limit)
    return {"chunks": chunks, "batches": len(batches), "ingest_s": best_ingest, "limit_s": best_limit,
            "ingest_embedding_s": inside, "ingest_chunks_per_s": chunks / best_ingest,
            "limit_chunks_per_s": chunks / best_limit}


# -- the large collection -----------------------------------------------------------------------
def build_large(settings, store, embedder, source_collection: str, target: int, seed: int = 0) -> dict:
    """Collection 'bench-large' of `target` chunks: those of `source_collection` (real texts and
    vectors) and perturbed copies of them, then its BM25 index rebuilt as ingest does."""
    from tunelab.rag.bm25 import BM25Index
    from tunelab.rag.chunk import chunk_id
    from tunelab.rag.documents import Chunk
    from tunelab.rag.ingest import open_collection
    from tunelab.rag.registry import CollectionRegistry

    registry = CollectionRegistry(store, settings)
    src = registry.vectors(registry.get(source_collection))
    got = src.col.get(include=["documents", "metadatas", "embeddings"])
    base = list(zip(got["documents"], got["metadatas"], np.asarray(got["embeddings"], dtype=np.float32)))
    info, vectors, _ = open_collection(registry, "bench-large", embedder=embedder)
    rnd, rng = random.Random(seed), np.random.default_rng(seed)
    dim = base[0][2].shape[0]
    sigma = float(np.sqrt((1 / COPY_COSINE ** 2 - 1) / dim))  # |noise| = sigma*sqrt(dim) gives that cosine
    start, written, copy, next_log = time.perf_counter(), 0, 0, target // 5
    while written < target:
        docs: dict[str, tuple[list[Chunk], list[np.ndarray]]] = {}
        for text, meta, vec in base[:target - written]:
            meta = dict(meta)
            if copy:
                meta["source"] = f"{meta['source']}~copy{copy}"
                if "record_id" in meta:
                    meta["record_id"] = f"{meta['record_id']}~copy{copy}"
                text = f"{text}\n{rag_data.variant_line(rnd)}"
                vec = vec + rng.normal(0.0, sigma, dim).astype(np.float32)
                vec /= np.linalg.norm(vec)
            chunks, vecs = docs.setdefault(meta["source"], ([], []))
            chunks.append(Chunk(id=chunk_id(meta["source"], int(meta["position"])), text=text, meta=meta))
            vecs.append(vec)
        window, size = [], 0
        for source, (chunks, vecs) in docs.items():  # as ingest writes: about 1,000 chunks a call
            window.append((source, chunks, np.stack(vecs)))
            size += len(chunks)
            if size >= 1000:
                vectors.replace_sources(window)
                window, size = [], 0
        if window:
            vectors.replace_sources(window)
        written += sum(len(chunks) for chunks, _ in docs.values())
        copy += 1
        if written >= next_log or written >= target:
            log(f"  {written:,} chunks written ({time.perf_counter() - start:.0f} s)")
            next_log += target // 5
    build_s = time.perf_counter() - start
    start = time.perf_counter()
    BM25Index.build(vectors.all_chunks()).save(registry.bm25_dir(info))
    bm25_s = time.perf_counter() - start
    return {"collection_chunks": vectors.count(), "real_chunks": len(base), "vector_write_s": build_s,
            "bm25_rebuild_s": bm25_s}


def make_reranker(folder: Path):
    """The packaged MiniLM as a sentence-transformers CrossEncoder with a fresh 1-label head, saved
    to `folder` and loaded back through `tunelab.rag.load_reranker` (the path a user's model takes)."""
    import logging

    import torch
    from sentence_transformers import CrossEncoder
    from transformers.utils import logging as hf_logging

    from tunelab.models.packaged import minilm_dir
    from tunelab.models.progress import hf_bars_off
    from tunelab.rag import load_reranker

    torch.manual_seed(0)
    st_logger = logging.getLogger("sentence_transformers")
    level, st_level = hf_logging.get_verbosity(), st_logger.level
    hf_logging.set_verbosity_error()  # "classifier weights newly initialised", "converting to CrossEncoder":
    st_logger.setLevel(logging.ERROR)  # both expected here
    try:
        with hf_bars_off():
            CrossEncoder(str(minilm_dir()), num_labels=1, device="cpu").save(str(folder))
        return load_reranker(folder)
    finally:
        hf_logging.set_verbosity(level)
        st_logger.setLevel(st_level)


def percentiles(ms: list[float]) -> tuple[float, float]:
    p50, p95 = np.percentile(ms, [50, 95])
    return float(p50), float(p95)


def query_latency(settings, store, embedder, reranker, queries: list[str]) -> dict:
    from tunelab.rag import Searcher

    searcher = Searcher.open("bench-large", settings=settings, store=store, embedder=embedder)
    col = searcher.vectors.col

    def limit(q: str) -> None:
        vector = embedder.embed([q])[0]
        col.query(query_embeddings=[vector], n_results=K, include=["documents", "metadatas", "distances"])

    runs: dict[str, Callable[[str], object]] = {
        "dense_limit": limit,
        "dense": lambda q: searcher.search(q, mode="dense", k=K),
        "bm25": lambda q: searcher.search(q, mode="bm25", k=K),
        "hybrid": lambda q: searcher.search(q, mode="hybrid", k=K),
        "hybrid_rerank": lambda q: searcher.search(q, mode="hybrid", k=K, reranker=reranker,
                                                   rerank_depth=RERANK_DEPTH),
    }
    start = time.perf_counter()
    for run in runs.values():  # first use opens the Chroma collection and loads the BM25 index
        run("warm up")
    open_s = time.perf_counter() - start
    times: dict[str, list[float]] = {name: [] for name in runs}
    rnd = random.Random(0)
    for q in queries:  # interleaved, in a new random order per query: noise falls on every mode alike,
        order = list(runs)  # and no mode always runs right after the (heavy) reranking
        rnd.shuffle(order)
        for name in order:
            t = time.perf_counter()
            runs[name](q)
            times[name].append(1000 * (time.perf_counter() - t))
    out: dict[str, float] = {"first_query_s": open_s}
    for name, ms in times.items():
        out[f"{name}_p50_ms"], out[f"{name}_p95_ms"] = percentiles(ms)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--docs", type=int, default=1500, help="catalogue records; guides: a tenth of this")
    ap.add_argument("--chunks", type=int, default=100_000, help="chunks in the collection queried")
    ap.add_argument("--queries", type=int, default=80)
    ap.add_argument("--rounds", type=int, default=2, help="ingest/limit rounds; the best of each counts")
    # One thread by default: on a small shared machine it is both faster and steadier than torch's
    # choice (two threads contend with every other process); 0 = torch's choice.
    ap.add_argument("--threads", type=int, default=1, help="torch CPU threads (0: torch's choice)")
    ap.add_argument("--quick", action="store_true", help="150 records, 10,000 chunks, 20 queries, one round")
    args = ap.parse_args()
    if args.quick:
        args.docs, args.chunks, args.queries, args.rounds = 150, 10_000, 20, 1

    import torch

    from tunelab.models.embeddings import sentence_embedder
    from tunelab.settings import Settings
    from tunelab.store import Store

    if args.threads:
        torch.set_num_threads(args.threads)
    guide_count = max(1, args.docs // 10)
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(home=Path(tmp) / "home")
        store = Store(settings)
        corpus = list(rag_data.write_corpus(Path(tmp) / "corpus", args.docs, guide_count))
        embedder = sentence_embedder()
        embedder.embed(["warm up"] * 32)
        log(f"ingest: {args.docs} records + {guide_count} guides, {args.rounds} round(s), "
            f"{torch.get_num_threads()} torch thread(s)")
        ing = ingest_rounds(embedder, settings, store, corpus, args.rounds)
        print(f"ingest   {ing['ingest_chunks_per_s']:7.1f} chunks/s  ({ing['chunks']} chunks in "
              f"{ing['ingest_s']:.1f} s, {ing['ingest_embedding_s']:.1f} s of it embedding)")
        print(f"limit    {ing['limit_chunks_per_s']:7.1f} chunks/s  (MiniLM alone on the same {ing['batches']} "
              f"batches, {ing['limit_s']:.1f} s)")
        log(f"building a {args.chunks:,}-chunk collection from {ing['chunks']} real chunks ...")
        large = build_large(settings, store, embedder, f"bench-ingest-{args.rounds - 1}", args.chunks)
        print(f"collection {large['collection_chunks']:,} chunks ({large['real_chunks']} real, the rest perturbed "
              f"copies): vectors written in {large['vector_write_s']:.0f} s, BM25 rebuilt in "
              f"{large['bm25_rebuild_s']:.1f} s")
        reranker = make_reranker(Path(tmp) / "reranker")
        lat = query_latency(settings, store, embedder, reranker, rag_data.queries(args.queries))
        store.dispose()
    for name, label in (("dense_limit", "dense limit (embed + raw Chroma)"), ("dense", "dense"), ("bm25", "bm25"),
                        ("hybrid", "hybrid"), ("hybrid_rerank", f"hybrid + rerank top {RERANK_DEPTH}")):
        print(f"{label:34s} p50 {lat[f'{name}_p50_ms']:8.1f} ms   p95 {lat[f'{name}_p95_ms']:8.1f} ms")
    ratio = ing["ingest_chunks_per_s"] / ing["limit_chunks_per_s"]
    dense_ratio = lat["dense_p50_ms"] / lat["dense_limit_p50_ms"]
    print(f"dense query p50 tunelab/limit: {dense_ratio:.2f}x (1.0 = no overhead over embed + raw Chroma)")
    print(f"ingest throughput ratio tunelab/limit: {ratio:.2f}x  (target >= 0.8)")
    print(json.dumps({"bench": "rag", "docs": args.docs, "guides": guide_count, "queries": args.queries,
                      "rounds": args.rounds, "torch_threads": torch.get_num_threads(), "k": K,
                      "rerank_depth": RERANK_DEPTH, "ratio": round(ratio, 3), "dense_ratio": round(dense_ratio, 3),
                      **{k: round(v, 3) if isinstance(v, float) else v for k, v in {**ing, **large, **lat}.items()}}))


if __name__ == "__main__":
    main()
