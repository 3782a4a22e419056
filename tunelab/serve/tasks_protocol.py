"""Request and response models of TuneLab's task endpoints (not part of OpenAI's API):

  POST /v1/tasks/classify  product listing(s) -> Google Product Taxonomy id + full path, top-k with scores
  POST /v1/tasks/extract   text(s) + attribute names/types -> JSON with a value or null per attribute
  POST /v1/tasks/qa        question + context (or a RAG collection) -> answer, answerable, citations

`model` is any id the server serves: the base model, one of its adapters, or `upstream/model`.
A request may carry one input or a list (at most MAX_INPUTS); results keep the input order.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from tunelab.tasks.ecommerce.datasets.records import Product

MAX_INPUTS = 256
KNN_CANDIDATES = 10  # default budgets of the knn and BM25 candidate sources (docs/ecommerce.md: why)
BM25_CANDIDATES = 10


class _Request(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ProductInput(_Request):
    """A listing as fields; only `title` is required."""

    title: str
    description: str = ""
    bullet_points: list[str] = []
    brand: str | None = None

    def text(self) -> str:
        """The listing as the task prompts read it (`Product.text`: title, brand, bullets, description)."""
        return Product(id="request", title=self.title.strip(), description=self.description.strip(),
                       bullet_points=[b for b in self.bullet_points if b.strip()], brand=self.brand).text()


def _texts(value: str | ProductInput | list, field: str) -> list[str]:
    items = value if isinstance(value, list) else [value]
    if not items:
        raise ValueError(f"{field} is an empty list; send at least one item.")
    if len(items) > MAX_INPUTS:
        raise ValueError(f"{field} has {len(items)} items; at most {MAX_INPUTS} per request.")
    out = []
    for i, item in enumerate(items):
        if isinstance(item, ProductInput):
            if not item.title.strip():
                raise ValueError(f"{field}[{i}].title is empty; a product needs a title.")
            out.append(item.text())
        elif not item.strip():
            raise ValueError(f"{field}[{i}] is empty.")
        else:
            out.append(item)
    return out


class ClassifyRequest(_Request):
    model: str
    input: str | ProductInput | list[str | ProductInput] = Field(
        description="A listing as text (title first) or as fields, or a list of them.")
    top_k: int = Field(5, ge=1, le=50, description="Categories to return per input, best first.")
    candidates: int = Field(20, ge=0, le=200, description="Categories retrieved by embedding similarity and ranked by the model.")
    knn_candidates: int = Field(KNN_CANDIDATES, ge=0, le=100,
                                description="Categories the nearest labelled catalogue products add (the server's "
                                            "TUNELAB_CLASSIFY_CATALOGUE, else the sample's train split); 0: none.")
    bm25_candidates: int = Field(BM25_CANDIDATES, ge=0, le=100,
                                 description="Categories whose names and synonyms share the title's words add; 0: none.")
    ranking: Literal["hybrid", "likelihood", "mean-likelihood"] | None = Field(
        None, description="How the model's scores rank the candidates: hybrid (default: per-token mean log-likelihood "
                          "plus the retrieval evidence), likelihood (total log-likelihood) or mean-likelihood.")
    length_normalized: bool = Field(False, description="Older form of ranking=mean-likelihood (when ranking is not given).")
    generate: bool = Field(False, description="Also rank the path the model writes itself (constrained to the taxonomy): "
                                              "slower, reaches categories retrieval missed.")

    def texts(self) -> list[str]:
        return _texts(self.input, "input")

    @model_validator(mode="after")
    def _some_candidates(self) -> ClassifyRequest:
        if self.candidates + self.knn_candidates + self.bm25_candidates < 1:
            raise ValueError("candidates, knn_candidates and bm25_candidates are all 0: classify needs candidates.")
        return self


class CategoryScoreOut(BaseModel):
    id: int | None = Field(description="The taxonomy id (null only for an encoder classifier's label that is not one).")
    path: str | None
    score: float
    label: str | None = Field(default=None, description="An encoder classifier's own label name.")


class ClassifyResult(BaseModel):
    index: int
    id: int | None
    path: str | None
    score: float
    top_k: list[CategoryScoreOut]
    method: str = Field(description="hybrid, likelihood, mean-likelihood, constrained+retrieval, retrieval, "
                                    "or encoder (a trained classifier).")
    label: str | None = None


class ClassifyResponse(BaseModel):
    object: str = "tasks.classify"
    model: str
    taxonomy_version: str | None = None
    data: list[ClassifyResult]


class ExtractRequest(_Request):
    model: str
    input: str | list[str] = Field(description="Product text, or a list of texts.")
    attributes: list[str] | dict[str, Any] = Field(
        description='Attribute names (all strings), or name -> type: "string", "number", "integer", "boolean", '
                    'or a list of allowed values.')
    max_tokens: int = Field(160, ge=8, le=1024)

    def texts(self) -> list[str]:
        return _texts(self.input, "input")


class ExtractResult(BaseModel):
    index: int
    values: dict[str, Any]
    valid: bool


class ExtractResponse(BaseModel):
    object: str = "tasks.extract"
    model: str
    data: list[ExtractResult]


class QARequest(_Request):
    model: str
    question: str
    context: str | list[str] | None = Field(None, description="Sources to answer from (numbered in the order given).")
    collection: str | None = Field(None, description="A RAG collection to retrieve the sources from instead.")
    k: int = Field(5, ge=1, le=50, description="Chunks to retrieve from the collection.")
    mode: str = Field("hybrid", description="dense | bm25 | hybrid")
    filters: dict[str, Any] | None = Field(None, description="Metadata filters for retrieval: category, brand, price_min, price_max.")
    self_query: bool = Field(False, description="Let the model turn the question into a search query and filters first.")
    max_tokens: int = Field(160, ge=8, le=1024)
    answer_mode: Literal["auto", "grounded", "free"] = Field(
        "auto", description="grounded: the answer is the sentence of the sources that answers the question, chosen "
        "by likelihood and copied with its offsets (quote); free: the model writes the answer; auto: grounded for "
        "local models below 3B parameters, free otherwise.")

    @field_validator("question")
    @classmethod
    def _question(cls, v: str) -> str:
        if not v.strip():
            raise ValueError("question is empty.")
        return v

    def sources(self) -> list[str]:
        if self.context is None:
            return []
        items = [self.context] if isinstance(self.context, str) else self.context
        return [s for s in items if s.strip()]


class Citation(BaseModel):
    index: int  # 1-based, as in the answer's [n] markers
    text: str
    source: str | None = None
    doc_id: str | None = None
    chunk_id: str | None = None
    score: float | None = None


def citation_of(ref) -> Citation:
    """A Citation from a retrieved source (tunelab.rag.answer.SourceRef)."""
    return Citation(index=ref.index, text=ref.text, source=ref.source, doc_id=ref.doc_id, chunk_id=ref.chunk_id,
                    score=ref.score)


class Quote(BaseModel):
    source: int = Field(description="1-based number of the source (as in citations).")
    start: int = Field(description="Character offset of the span in that source's text.")
    end: int
    text: str


class QAResponse(BaseModel):
    object: str = "tasks.qa"
    model: str
    answer: str
    answerable: bool
    citations: list[Citation]
    sources: list[Citation] = []
    query: str | None = None  # what was searched (with self_query, the model's rewrite)
    answer_mode: str = "free"  # the mode that answered: grounded or free
    quote: Quote | None = None  # grounded: the span of the cited source the answer is
