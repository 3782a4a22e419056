"""Chunking rules: headings then size with overlap for prose, one chunk per product record, whole
blocks for code; sizes in characters or tokens; metadata carries source, position and fields."""

import pytest
from pydantic import ValidationError
from rag_support import embedder, one_torch_thread  # noqa: F401 - fixtures

from tunelab.rag.chunk import ChunkConfig, chunk_document, code_blocks, split_prose, split_sections
from tunelab.rag.documents import RawDocument

SENTENCES = [f"Sentence number {i} talks about topic {i}." for i in range(30)]
PROSE = " ".join(SENTENCES)


def test_markdown_splits_at_headings_not_inside_code_fences():
    text = "# Guide\n\nIntro.\n\n## Install\n\n```bash\n# a comment, not a heading\npip install x\n```\n\n## Use\n\nRun it.\n"
    sections = split_sections(text)
    assert [path for path, _ in sections] == [["Guide"], ["Guide", "Install"], ["Guide", "Use"]]
    assert "# a comment, not a heading" in sections[1][1]
    chunks = chunk_document(RawDocument("/d/guide.md", "markdown", text, title="Guide"), ChunkConfig(size=500, overlap=50))
    assert [c.meta["section"] for c in chunks] == ["Guide", "Guide > Install", "Guide > Use"]
    assert [c.meta["position"] for c in chunks] == [0, 1, 2]
    assert all(c.meta["source"] == "/d/guide.md" and c.meta["doc_type"] == "markdown" for c in chunks)
    assert len({c.id for c in chunks}) == 3


def test_prose_respects_size_and_overlaps_consecutive_chunks():
    chunks = split_prose(PROSE, size=200, overlap=60)
    assert len(chunks) > 3
    assert all(len(c) <= 200 for c in chunks)
    for a, b in zip(chunks, chunks[1:]):
        first_sentence = b[: b.index(".") + 1]
        assert first_sentence in a, "each chunk starts with the end of the previous one"
    for s in SENTENCES:  # nothing is lost
        assert any(s in c for c in chunks)


def test_no_overlap_means_disjoint_chunks():
    chunks = split_prose(PROSE, size=200, overlap=0)
    assert " ".join(chunks) == PROSE


def test_a_word_longer_than_the_size_is_cut():
    chunks = split_prose("x" * 250, size=100, overlap=0)
    assert [len(c) for c in chunks] == [100, 100, 50]


def test_token_sizes_use_the_embedding_models_tokenizer(embedder):  # noqa: F811
    config = ChunkConfig(size=40, overlap=10, unit="tokens")
    chunks = chunk_document(RawDocument("t.txt", "text", PROSE), config, length=embedder.count_tokens)
    assert len(chunks) > 3
    assert all(embedder.count_tokens(c.text) <= 40 for c in chunks)
    assert max(len(c.text) for c in chunks) > 40  # characters are not the unit


def test_product_record_is_one_chunk_with_its_fields():
    doc = RawDocument("/c.jsonl#SHOE-1", "product", "Light trail shoes.", title="TrailRunner",
                      meta={"record_id": "SHOE-1", "category": "Shoes", "brand": "Acme", "price": 89.0, "color": "red"})
    [chunk] = chunk_document(doc, ChunkConfig(size=20, overlap=0))  # size does not split a record
    assert chunk.text == "TrailRunner\nLight trail shoes.\nCategory: Shoes\nBrand: Acme\nPrice: 89.00\nColor: red"
    assert chunk.meta == {"record_id": "SHOE-1", "category": "Shoes", "brand": "Acme", "price": 89.0, "color": "red",
                          "source": "/c.jsonl#SHOE-1", "position": 0, "doc_type": "product", "title": "TrailRunner"}


CODE = '''import os

def small():
    return 1

@decorator
def decorated(x):
    if x:

        return 2
    return 3

class Big:
    def a(self):
        return "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"

    def b(self):
        return "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
'''


def test_code_is_cut_at_top_level_blocks():
    blocks = code_blocks(CODE)
    assert [b.splitlines()[0] for b in blocks] == ["import os", "def small():", "@decorator", "class Big:"]
    chunks = chunk_document(RawDocument("m.py", "code", CODE, meta={"language": "python"}), ChunkConfig(size=80, overlap=10))
    assert all(len(c.text) <= 80 for c in chunks)
    assert any(c.text.startswith("@decorator\ndef decorated(x):") and c.text.endswith("return 3") for c in chunks)
    # the class is longer than 80 characters: cut at lines, indentation kept
    assert any(c.text.startswith("    def b(self):") for c in chunks)
    assert all(c.meta["language"] == "python" for c in chunks)


def test_small_code_blocks_are_packed_together():
    chunks = chunk_document(RawDocument("m.py", "code", CODE), ChunkConfig(size=1000, overlap=0))
    assert len(chunks) == 1 and chunks[0].text == CODE.strip()


def test_overlap_must_be_below_size():
    with pytest.raises(ValidationError, match="overlap .* must be smaller than the chunk size"):
        ChunkConfig(size=100, overlap=100)
