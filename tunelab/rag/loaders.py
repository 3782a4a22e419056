"""Files and folders → `RawDocument`s: Markdown, plain text, HTML (→ text), PDF (pypdf), source
code, and JSON/JSONL/CSV product catalogues (see `catalogue.py`). A file that cannot be read, is
binary, or holds no text becomes a `Failure` with the reason; it never stops the others."""

from __future__ import annotations

import io
import os
from collections.abc import Iterator
from pathlib import Path

from tunelab.rag.catalogue import CATALOGUE_SUFFIXES, load_catalogue
from tunelab.rag.documents import Failure, RawDocument
from tunelab.rag.errors import RagError
from tunelab.rag.htmltext import html_to_text
from tunelab.rag.mapping import FieldMapping

TEXT_SUFFIXES = {".md": "markdown", ".markdown": "markdown", ".mdx": "markdown", ".txt": "text", ".text": "text",
                 ".rst": "text", ".html": "html", ".htm": "html", ".xhtml": "html", ".pdf": "pdf"}
CODE_SUFFIXES = {".py": "python", ".js": "javascript", ".mjs": "javascript", ".ts": "typescript", ".tsx": "typescript",
                 ".jsx": "javascript", ".go": "go", ".rs": "rust", ".java": "java", ".kt": "kotlin", ".c": "c",
                 ".h": "c", ".cc": "cpp", ".cpp": "cpp", ".hpp": "cpp", ".cs": "csharp", ".rb": "ruby", ".php": "php",
                 ".swift": "swift", ".scala": "scala", ".sh": "shell", ".bash": "shell", ".sql": "sql", ".r": "r",
                 ".lua": "lua", ".pl": "perl", ".toml": "toml", ".yaml": "yaml", ".yml": "yaml"}
MAX_FILE_BYTES = 50 * 1024 * 1024
_SNIFF = 8192


def decode_text(data: bytes) -> str:
    """UTF-8 (with or without BOM) text, or ValueError saying why it is not text."""
    if b"\x00" in data[:_SNIFF]:
        raise ValueError("binary file (NUL bytes in the first 8 KiB)")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ValueError(f"binary or non-UTF-8 file (byte {exc.start} is not UTF-8)") from None


def pdf_text(data: bytes) -> tuple[str, dict]:
    """Text of every page (blank line between pages) and {'pages': n}; ValueError if unreadable."""

    from pypdf import PdfReader  # lazy: pypdf is slow to import
    from pypdf.errors import PyPdfError  # lazy: pypdf is slow to import

    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted:
            raise ValueError("encrypted PDF")
        pages = [(page.extract_text() or "").strip() for page in reader.pages]
    except (PyPdfError, KeyError, TypeError, AttributeError) as exc:
        raise ValueError(f"not a readable PDF ({type(exc).__name__}: {exc})") from None
    return "\n\n".join(p for p in pages if p), {"pages": len(pages)}


def bytes_to_document(source: str, data: bytes, doc_type: str, *, language: str | None = None) -> RawDocument:
    """One document from raw bytes of a known type; ValueError (the reason) if it holds no usable text."""
    title, meta = None, {}
    if doc_type == "pdf":
        text, meta = pdf_text(data)
    else:
        text = decode_text(data)
        if doc_type == "html":
            page = html_to_text(text)
            title, text = page.title, page.text
        elif language:
            meta = {"language": language}
    if not text.strip():
        raise ValueError("no text (empty file, or a PDF of scanned images)" if doc_type == "pdf" else "no text")
    if title is None and doc_type == "markdown":
        first = next((line for line in text.splitlines() if line.startswith("# ")), None)
        title = first[2:].strip() if first else None
    return RawDocument(source=source, doc_type=doc_type, text=text, title=title, meta=meta)


def load_file(path: Path, mapping: FieldMapping | None = None) -> Iterator[RawDocument | Failure]:
    """The document(s) in one file: a catalogue yields one per record, any other file one."""
    source = str(path)
    try:
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            yield Failure(source, f"too large ({size / 2**20:.0f} MiB > {MAX_FILE_BYTES // 2**20} MiB)")
            return
        data = path.read_bytes()
    except OSError as exc:
        yield Failure(source, f"unreadable: {exc.strerror or exc}")
        return
    suffix = path.suffix.lower()
    try:
        if suffix in CATALOGUE_SUFFIXES:
            yield from load_catalogue(path, decode_text(data), mapping or FieldMapping())
            return
        if suffix in TEXT_SUFFIXES:
            yield bytes_to_document(source, data, TEXT_SUFFIXES[suffix])
        elif suffix in CODE_SUFFIXES:
            yield bytes_to_document(source, data, "code", language=CODE_SUFFIXES[suffix])
        else:  # unknown suffix: index it if it is text, skip it with the reason if not
            yield bytes_to_document(source, data, "text")
    except ValueError as exc:
        yield Failure(source, str(exc))


def iter_files(root: Path) -> Iterator[Path]:
    """Files under `root` in a stable order, leaving out hidden files and folders (.git, .venv...)."""
    for folder, dirs, files in os.walk(root):
        dirs[:] = sorted(d for d in dirs if not d.startswith(".") and d not in ("__pycache__", "node_modules"))
        for name in sorted(files):
            if not name.startswith("."):
                yield Path(folder) / name


def load_path(path: str | Path, mapping: FieldMapping | None = None) -> Iterator[RawDocument | Failure]:
    """Every document in a file or (recursively) a folder; sources are absolute paths."""
    root = Path(path).expanduser()
    if not root.exists():
        raise RagError(f"{root} does not exist (give a file, a folder or an http(s):// URL).")
    root = root.resolve()
    if root.is_file():
        yield from load_file(root, mapping)
        return
    for file in iter_files(root):
        yield from load_file(file, mapping)
