"""POST /v1/tasks/classify, /v1/tasks/extract and /v1/tasks/qa: parse, call `app.state.tasks`,
shape the answer (see `tunelab.serve.tasks_protocol`)."""

from __future__ import annotations

from fastapi import APIRouter, Request

from tunelab.serve.errors import APIError
from tunelab.serve.tasks_protocol import (
    CategoryScoreOut,
    Citation,
    ClassifyRequest,
    ClassifyResponse,
    ClassifyResult,
    ExtractRequest,
    ExtractResponse,
    ExtractResult,
    QARequest,
    QAResponse,
    citation_of,
)

router = APIRouter(tags=["tasks"])


def _texts(body) -> list[str]:
    try:
        return body.texts()
    except ValueError as exc:
        raise APIError(str(exc), param="input") from None


@router.post("/v1/tasks/classify", response_model=ClassifyResponse)
async def classify(body: ClassifyRequest, request: Request) -> ClassifyResponse:
    texts = _texts(body)
    taxonomy, results = await request.app.state.tasks.classify(
        body.model, texts, k=body.top_k, candidates=body.candidates, knn_candidates=body.knn_candidates,
        bm25_candidates=body.bm25_candidates, length_normalized=body.length_normalized, generate=body.generate,
        ranking=body.ranking)
    data = [ClassifyResult(index=i, id=r.id, path=r.path, score=r.score, method=r.method, label=r.label,
                           top_k=[CategoryScoreOut(id=c.id, path=c.path, score=c.score, label=c.label)
                                  for c in r.top_k])
            for i, r in enumerate(results)]
    return ClassifyResponse(model=body.model, taxonomy_version=taxonomy.version, data=data)


@router.post("/v1/tasks/extract", response_model=ExtractResponse)
async def extract(body: ExtractRequest, request: Request) -> ExtractResponse:
    texts = _texts(body)
    results = await request.app.state.tasks.extract(body.model, texts, body.attributes, max_tokens=body.max_tokens)
    return ExtractResponse(model=body.model,
                           data=[ExtractResult(index=i, values=r.values, valid=r.valid) for i, r in enumerate(results)])


@router.post("/v1/tasks/qa", response_model=QAResponse)
async def qa(body: QARequest, request: Request) -> QAResponse:
    tasks = request.app.state.tasks
    if body.collection is not None:
        if body.context is not None:
            raise APIError("Send either context or collection, not both.", param="collection")
        if body.mode not in ("dense", "bm25", "hybrid"):
            raise APIError(f"mode '{body.mode}' is not one of: dense, bm25, hybrid.", param="mode")
        res = await tasks.ask_collection(body.model, body.question, body.collection, k=body.k, mode=body.mode,
                                         filters=body.filters, self_query=body.self_query,
                                         max_tokens=body.max_tokens, answer_mode=body.answer_mode)
        return QAResponse(model=body.model, answer=res.answer, answerable=res.answerable, query=res.query,
                          answer_mode=res.answer_mode, quote=res.quote,
                          citations=[citation_of(c) for c in res.citations],
                          sources=[citation_of(c) for c in res.sources])
    sources = body.sources()
    result = await tasks.answer(body.model, body.question, sources, max_tokens=body.max_tokens,
                                answer_mode=body.answer_mode)
    cited = [Citation(index=i, text=sources[i - 1]) for i in result.citations if 1 <= i <= len(sources)]
    return QAResponse(model=body.model, answer=result.answer, answerable=result.answerable, citations=cited,
                      answer_mode=result.mode, quote=result.quote.to_dict() if result.quote else None,
                      sources=[Citation(index=i + 1, text=s) for i, s in enumerate(sources)])
