"""RAG core: ingest files, folders and web pages into collections; chunk by document type; embed
(the packaged MiniLM by default) into Chroma (embedded, or a server by URL); search by dense, BM25
or hybrid retrieval with metadata filters, query expansion and cross-encoder reranking.

    reports = ingest(["docs/", "catalogue.jsonl"], "shop", settings=settings, store=store)
    hits = Searcher.open("shop", settings=settings, store=store).search("trail shoes", mode="hybrid")
"""

from tunelab.rag.bm25 import BM25Index
from tunelab.rag.chunk import ChunkConfig, chunk_document
from tunelab.rag.crawl import CrawlConfig, crawl
from tunelab.rag.documents import Chunk, Failure, RawDocument
from tunelab.rag.embed import Embedder, embed_texts, load_embedder
from tunelab.rag.errors import EmbeddingMismatchError, MappingError, RagError, UnknownCollectionError, VectorStoreError
from tunelab.rag.filters import Filters
from tunelab.rag.hybrid import rrf
from tunelab.rag.ingest import SourceReport, ingest
from tunelab.rag.loaders import load_path
from tunelab.rag.mapping import FieldMapping
from tunelab.rag.registry import CollectionInfo, CollectionRegistry
from tunelab.rag.rerank import Reranker, load_reranker, rerank
from tunelab.rag.search import MODES, QueryExpander, Searcher, SelfQuery, doc_ranking
from tunelab.rag.vectors import Hit, VectorStore

__all__ = [
    "BM25Index", "ChunkConfig", "chunk_document", "CrawlConfig", "crawl", "Chunk", "Failure", "RawDocument",
    "Embedder", "embed_texts", "load_embedder", "EmbeddingMismatchError", "MappingError", "RagError",
    "UnknownCollectionError", "VectorStoreError", "Filters", "rrf", "SourceReport", "ingest", "load_path",
    "FieldMapping", "CollectionInfo", "CollectionRegistry", "Reranker", "load_reranker", "rerank", "MODES",
    "QueryExpander", "Searcher", "SelfQuery", "doc_ranking", "Hit", "VectorStore",
]
