"""Documents → chunks, by document type:

- product: one chunk holding the title, text and fields ("Brand: ...") so both BM25 and the
  embedding see them; the fields also go into the chunk's metadata for filters.
- markdown / html / text / pdf: split at headings (outside code fences), then each section into
  pieces of at most `size` units (characters or tokens) at paragraph, line, sentence, then word
  boundaries, consecutive pieces sharing up to `overlap` units.
- code: whole top-level blocks (a block starts at an unindented line after a blank line), packed up
  to `size`; a block longer than `size` is cut at its blank lines (methods), then at lines.
Every chunk's metadata carries its source, position, doc_type, title and section."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from typing import Any, Literal

from pydantic import BaseModel, Field, model_validator

from tunelab.rag.documents import Chunk, RawDocument

Length = Callable[[str], int]


class ChunkConfig(BaseModel):
    """How prose and code are cut. Product records are always one chunk."""

    size: int = Field(default=1000, ge=20, description="Largest chunk, in `unit`s.")
    overlap: int = Field(default=150, ge=0, description="Units shared by consecutive prose chunks.")
    unit: Literal["chars", "tokens"] = Field(
        default="chars", description="chars, or tokens of the collection's embedding model.")

    @model_validator(mode="after")
    def _overlap_below_size(self) -> ChunkConfig:
        if self.overlap >= self.size:
            raise ValueError(f"Chunk overlap ({self.overlap}) must be smaller than the chunk size ({self.size}).")
        return self

    def fingerprint(self) -> str:
        return f"{self.unit}:{self.size}:{self.overlap}"


_HEADING = re.compile(r"^(#{1,6})\s+(.+?)\s*#*\s*$")
_FENCE = re.compile(r"^\s*(```|~~~)")
_SENTENCE_END = re.compile(r"(?<=[.!?。])\s+")


def split_sections(text: str) -> list[tuple[list[str], str]]:
    """Markdown → [(heading path, section text including its heading line)]. A `#` line inside a
    ``` or ~~~ fence is code, not a heading."""
    sections: list[tuple[list[str], list[str]]] = [([], [])]
    path: list[tuple[int, str]] = []
    fence: str | None = None
    for line in text.splitlines():
        m = _FENCE.match(line)
        if m:
            fence = None if fence == m.group(1) else (fence or m.group(1))
        heading = None if fence or m else _HEADING.match(line)
        if heading:
            level = len(heading.group(1))
            path = [(lv, t) for lv, t in path if lv < level] + [(level, heading.group(2))]
            sections.append(([t for _, t in path], []))
        sections[-1][1].append(line)
    return [(p, "\n".join(lines).strip()) for p, lines in sections if "\n".join(lines).strip()]


def _split_keep(text: str, sep: str | re.Pattern) -> list[str]:
    """Split after each separator, keeping it on the left piece, so "".join(pieces) == text."""
    if isinstance(sep, re.Pattern):
        cuts = [m.end() for m in sep.finditer(text)]
    else:
        cuts, start = [], 0
        while (i := text.find(sep, start)) != -1:
            cuts.append(i + len(sep))
            start = i + len(sep)
    pieces, prev = [], 0
    for cut in cuts:
        pieces.append(text[prev:cut])
        prev = cut
    pieces.append(text[prev:])
    return [p for p in pieces if p]


_SEPARATORS: list[str | re.Pattern] = ["\n\n", "\n", _SENTENCE_END, " "]


def _atoms(text: str, size: int, length: Length, seps: list[str | re.Pattern]) -> list[str]:
    """Pieces of `text`, each at most `size` units, cut at the coarsest boundary that works."""
    if length(text) <= size:
        return [text]
    if not seps:  # one unbroken run longer than size: cut it by characters
        step = max(1, len(text) * size // max(1, length(text)))
        return [text[i:i + step] for i in range(0, len(text), step)]
    out: list[str] = []
    for piece in _split_keep(text, seps[0]):
        out.extend(_atoms(piece, size, length, seps[1:]))
    return out


def pack(atoms: list[str], size: int, overlap: int, length: Length, *, code: bool = False) -> list[str]:
    """Greedily join atoms into chunks of at most `size` units; each new chunk starts with the
    previous chunk's trailing atoms that fit in `overlap` units (and leave room for the next atom).
    Code keeps the indentation of its first line."""
    tidy = (lambda t: t.lstrip("\n").rstrip()) if code else str.strip  # noqa: E731
    chunks: list[str] = []
    window: list[tuple[str, int]] = []
    total = 0
    for atom in atoms:
        n = length(atom)
        if window and total + n > size:
            chunks.append(tidy("".join(a for a, _ in window)))
            while window and (total > overlap or total + n > size):
                total -= window.pop(0)[1]
        window.append((atom, n))
        total += n
    if window:  # it holds at least one atom that no chunk has yet
        chunks.append(tidy("".join(a for a, _ in window)))
    return [c for c in chunks if c]


def split_prose(text: str, size: int, overlap: int, length: Length = len) -> list[str]:
    return pack(_atoms(text, size, length, _SEPARATORS), size, overlap, length)


def code_blocks(text: str) -> list[str]:
    """Top-level blocks: a new block starts at an unindented line that follows a blank line
    (so a decorator or comment stays with the definition under it; a closing brace stays with its block)."""
    blocks: list[list[str]] = [[]]
    prev_blank = False
    for line in text.splitlines():
        starts_block = prev_blank and line[:1] not in ("", " ", "\t", "}", ")", "]") and blocks[-1]
        if starts_block:
            blocks.append([])
        blocks[-1].append(line)
        prev_blank = not line.strip()
    return ["\n".join(b).strip("\n") for b in blocks if "\n".join(b).strip()]


def split_code(text: str, size: int, length: Length = len) -> list[str]:
    atoms: list[str] = []
    for block in code_blocks(text):
        if length(block) <= size:
            atoms.append(block)
        else:  # one long class or function: cut at its inner blank lines, then at lines; no overlap
            atoms.extend(pack(_atoms(block, size, length, ["\n\n", "\n"]), size, 0, length, code=True))
    chunks: list[str] = []
    for atom in atoms:  # pack small blocks together, a blank line between them
        if chunks and length(chunks[-1]) + length(atom) + 2 <= size:
            chunks[-1] = f"{chunks[-1]}\n\n{atom}"
        else:
            chunks.append(atom)
    return [c.strip("\n") for c in chunks]


_PRODUCT_FIELDS = ("category", "brand", "price")


def product_text(doc: RawDocument) -> str:
    """Title, text, then one 'Field: value' line per field (category, brand, price first)."""
    lines = [doc.title] if doc.title else []
    if doc.text:
        lines.append(doc.text)
    keys = [k for k in _PRODUCT_FIELDS if k in doc.meta] + sorted(k for k in doc.meta
                                                                  if k not in _PRODUCT_FIELDS and k != "record_id")
    for key in keys:
        value = doc.meta[key]
        if key == "price" and isinstance(value, float):
            value = f"{value:.2f}"
        lines.append(f"{key.replace('_', ' ').capitalize()}: {value}")
    return "\n".join(lines)


def chunk_id(source: str, position: int) -> str:
    return f"{hashlib.sha1(source.encode()).hexdigest()[:20]}-{position}"


def _scalar_meta(meta: dict[str, Any]) -> dict[str, Any]:
    """Metadata a vector store accepts: str, int, float, bool; None dropped, the rest as text."""
    return {k: v if isinstance(v, (str, int, float, bool)) else str(v) for k, v in meta.items() if v is not None}


def chunk_document(doc: RawDocument, config: ChunkConfig | None = None, length: Length = len) -> list[Chunk]:
    """Cut `doc` into chunks as its type says. `length` measures a string in `config.unit`s."""
    config = config or ChunkConfig()
    if doc.doc_type == "product":
        pieces = [("", product_text(doc))]
    elif doc.doc_type == "code":
        pieces = [("", c) for c in split_code(doc.text, config.size, length)]
    else:
        sections = split_sections(doc.text) if doc.doc_type in ("markdown", "html") else [([], doc.text)]
        pieces = [(" > ".join(path), piece) for path, body in sections
                  for piece in split_prose(body, config.size, config.overlap, length)]
    base = _scalar_meta(doc.meta)
    chunks = []
    for position, (section, text) in enumerate(p for p in pieces if p[1].strip()):
        meta = {**base, "source": doc.source, "position": position, "doc_type": doc.doc_type}
        if doc.title:
            meta["title"] = doc.title
        if section:
            meta["section"] = section
        chunks.append(Chunk(id=chunk_id(doc.source, position), text=text, meta=meta))
    return chunks
