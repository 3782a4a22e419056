"""The service behind /v1/tasks/* (on `app.state.tasks`): turns a request's `model` into a
TaskModel (the server's own engine for the base model and its adapters, the upstream client for
`upstream/model`, a trained encoder classifier for classify) and runs the e-commerce task functions and RAG answers on it. The taxonomy and
its category index load on the first classify request (the index's vectors are cached on disk).
"""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import asdict

import anyio

from tunelab.models.encoders import load_encoder_classifier
from tunelab.models.torch_threads import run_torch
from tunelab.rag.answer import ask
from tunelab.rag.cited_qa import answer_question
from tunelab.rag.errors import RagError, UnknownCollectionError
from tunelab.rag.filters import Filters
from tunelab.rag.search import Searcher
from tunelab.serve.errors import APIError, NotFoundError
from tunelab.serve.generation_service import GenerationService
from tunelab.settings import Settings
from tunelab.store import Store
from tunelab.tasks.ecommerce.attributes import AttributeSchemaError, parse_attribute_spec
from tunelab.tasks.ecommerce.candidates import CandidateRetriever
from tunelab.tasks.ecommerce.category_index import CategoryIndex
from tunelab.tasks.ecommerce.classify import classify_many
from tunelab.tasks.ecommerce.extract import extract_many
from tunelab.tasks.ecommerce.neighbours import ProductNeighbours
from tunelab.tasks.ecommerce.taxonomy import Taxonomy
from tunelab.tasks.encoder import EncoderTaskModel
from tunelab.tasks.model import EngineTaskModel, TaskModel, TaskModelError, UpstreamTaskModel


class TasksService:
    def __init__(self, generation: GenerationService, settings: Settings, store: Store, embedder=None,
                 collections=None) -> None:
        self.generation, self.settings, self.store = generation, settings, store
        self.collections = collections  # the CollectionsService, whose searchers follow ingests
        self.embedder = embedder  # the server's SentenceEmbedder, reused for the category index
        self._taxonomy = None
        self._index = None
        self._lock = asyncio.Lock()
        self._searchers: dict = {}  # collection name -> Searcher (its embedder and BM25 index stay loaded)
        self._encoders: dict[str, EncoderTaskModel] = {}  # trained classifiers, by adapter name

    def task_model(self, model: str) -> TaskModel:
        gen = self.generation
        target = gen.resolve(model)  # 404 listing what exists
        if target.upstream is not None:
            return UpstreamTaskModel(gen.upstreams, target.upstream, target.remote_model, name=model)
        return EngineTaskModel(gen.engine, gen.loaded, adapter=target.adapter, name=model)

    async def category_index(self):
        """(taxonomy, candidate retriever), built once per server: the category index now, the knn
        catalogue (TUNELAB_CLASSIFY_CATALOGUE's train split, else the sample's) and the BM25 index on
        their first use."""
        async with self._lock:
            if self._index is None:

                def build():
                    taxonomy = Taxonomy.load(self.settings.taxonomy)
                    index = CategoryIndex.for_settings(taxonomy, self.settings, embedder=self.embedder)
                    neighbours = None
                    if self.settings.classify_catalogue is not None:
                        neighbours = ProductNeighbours.from_file(self.settings.classify_catalogue, taxonomy,
                                                                 index.embedder, cache_dir=self.settings.home / "cache")
                    return taxonomy, CandidateRetriever(index, neighbours=neighbours)

                self._taxonomy, self._index = await run_torch(build)
            return self._taxonomy, self._index

    async def encoder(self, model: str) -> EncoderTaskModel | None:
        """The trained encoder classifier registered as `model` (loaded once), or None."""
        if model not in self._encoders:
            registry = self.generation.registry
            info = await anyio.to_thread.run_sync(lambda: registry.get(model) if registry.exists(model) else None)
            if info is None or info.kind != "classifier":
                return None
            classifier = await run_torch(load_encoder_classifier, info.path)
            self._encoders[model] = EncoderTaskModel(classifier, name=model)
        return self._encoders[model]

    async def taxonomy(self) -> Taxonomy:
        if self._taxonomy is None:
            self._taxonomy = await anyio.to_thread.run_sync(Taxonomy.load, self.settings.taxonomy)
        return self._taxonomy

    async def classify(self, model: str, texts: list[str], *, k: int, candidates: int, knn_candidates: int = 0,
                       bm25_candidates: int = 0, length_normalized: bool = False, generate: bool = False,
                       ranking: str | None = None):

        started = time.perf_counter()
        tm = await self.encoder(model)
        if tm is not None:  # its labels are its candidates: no retrieval index needed
            taxonomy = await self.taxonomy()
            results = await classify_many(tm, texts, taxonomy=taxonomy, index=None, k=k)
        else:
            tm = self.task_model(model)
            taxonomy, index = await self.category_index()
            try:
                results = await classify_many(tm, texts, taxonomy=taxonomy, index=index, k=k, candidates=candidates,
                                              knn_candidates=knn_candidates, bm25_candidates=bm25_candidates,
                                              length_normalized=length_normalized, generate=generate,
                                              ranking=ranking)
            except TaskModelError as exc:
                raise APIError(str(exc), status=502, code="upstream_error") from None
        await self.trace("classify", model, started, [(t, r.path or r.label or "") for t, r in zip(texts, results)])
        return taxonomy, results

    async def extract(self, model: str, texts: list[str], attributes, *, max_tokens: int):

        try:
            spec = parse_attribute_spec(attributes, where="attributes")
        except AttributeSchemaError as exc:
            raise APIError(str(exc), param="attributes") from None
        started, tm = time.perf_counter(), self.task_model(model)
        try:
            results = await extract_many(tm, texts, spec, max_tokens=max_tokens)
        except TaskModelError as exc:
            raise APIError(str(exc), status=502, code="upstream_error") from None
        await self.trace("extract", model, started,
                         [(t, json.dumps(r.values, ensure_ascii=False)) for t, r in zip(texts, results)])
        return results

    async def answer(self, model: str, question: str, sources: list[str], *, max_tokens: int,
                     answer_mode: str = "auto"):
        started, tm = time.perf_counter(), self.task_model(model)
        try:
            result = await answer_question(tm, question, sources, max_tokens=max_tokens, mode=answer_mode)
        except TaskModelError as exc:
            raise APIError(str(exc), status=502, code="upstream_error") from None
        await self.trace("qa", model, started, [(question, result.answer)],
                         sources=[{"index": i, "text": t} for i, t in enumerate(sources, start=1)])
        return result

    # -- RAG ----------------------------------------------------------------------------------------

    async def searcher(self, collection: str):
        """The collection's Searcher; 404 listing the collections when it does not exist. With the
        server's collections service, the one it keeps (reopened after an ingest job changed the
        collection); without, opened once."""
        try:
            if self.collections is not None:
                return await anyio.to_thread.run_sync(self.collections.searcher, collection)
            if collection not in self._searchers:
                self._searchers[collection] = await anyio.to_thread.run_sync(
                    lambda: Searcher.open(collection, settings=self.settings, store=self.store))
        except UnknownCollectionError as exc:
            raise NotFoundError(f"Collection '{collection}' does not exist. Collections: "
                                f"{', '.join(exc.known) or 'none (tunelab ingest PATH --collection NAME)'}.",
                                param="collection", code="collection_not_found") from None
        return self._searchers[collection]

    async def retrieve(self, collection: str, query: str, *, k: int, mode: str = "hybrid", filters=None):

        searcher = await self.searcher(collection)
        try:
            return await anyio.to_thread.run_sync(  # hooks may call back via anyio.from_thread
                lambda: searcher.search(query, mode=mode, k=k, filters=filters))
        except RagError as exc:  # another embedding model, a broken index: the user can act on it
            raise APIError(str(exc), param="collection") from None

    async def ask_collection(self, model: str, question: str, collection: str, *, k: int, mode: str,
                             filters: dict | None, self_query: bool, max_tokens: int, answer_mode: str = "auto"):
        """Retrieve from `collection` and answer with citations (tunelab.rag.answer.ask)."""

        try:
            parsed = Filters(**(filters or {}))
        except ValueError as exc:
            raise APIError(f"filters: {exc}", param="filters") from None
        started, tm = time.perf_counter(), self.task_model(model)
        searcher = await self.searcher(collection)
        try:
            res = await ask(question, searcher=searcher, model=tm, k=k, mode=mode, filters=parsed,
                            self_query=self_query, max_tokens=max_tokens, answer_mode=answer_mode)
        except TaskModelError as exc:
            raise APIError(str(exc), status=502, code="upstream_error") from None
        except RagError as exc:
            raise APIError(str(exc), param="collection") from None
        await self.trace("qa", model, started, [(question, res.answer)], sources=[asdict(r) for r in res.sources])
        return res

    async def trace(self, kind: str, model: str, started: float, pairs: list[tuple[str, str]],
                    sources: list | None = None) -> None:
        """One trace per (input, answer) of a task request, when the tracer traces it (latency: the request's)."""
        gen = self.generation
        if gen.tracer is None:
            return
        adapter = None if model == gen.base_name or "/" in model else model
        for text, answer in pairs:
            handle = gen.tracer.begin(kind, model, adapter, [{"role": "user", "content": text}], sources=sources)
            if handle is None:
                return
            handle.started = started
            await handle.finish(answer)
