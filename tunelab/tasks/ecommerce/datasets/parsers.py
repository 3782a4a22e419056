"""One raw row (a dict read from JSONL/JSON/CSV/Parquet) -> one typed record, for each source format.
Pure functions; a bad row raises `FieldError` with the path of the offending field
(``attributes[1].evidences[0].end``) and a reason, and the loader adds file and line.

Formats and the keys they read:

- TuneLab products: id, title, description?, bullet_points?, brand?, color?, price?, locale?,
  category_id and/or category_path (checked against a `Taxonomy`), split?
- MAVE: id, category, paragraphs [{text, source}], attributes [{key, evidences [{value, pid, begin, end}]}]
- AmazonQA: questionText, questionType (yesno | descriptive), review_snippets, answers [{answerText,
  answerType?, helpful?}], asin, category?, qid?, is_answerable?
- ESCI: examples (example_id?, query, query_id, product_id, product_locale, esci_label, small_version?,
  large_version?, split?) and products (product_id, product_title, product_description?,
  product_bullet_point?, product_brand?, product_color?, product_locale?)
- ECInstruct: task, setting?, instruction, input?, options?, output, split?
"""

from __future__ import annotations

import ast
import json
import math
from typing import Any

from tunelab.data.errors import FieldError
from tunelab.data.fields import as_dict, as_list, describe, text
from tunelab.tasks.ecommerce.datasets.records import (
    ESCI_LABELS,
    Answer,
    Attribute,
    AttributeRecord,
    Evidence,
    InstructionRecord,
    Paragraph,
    Product,
    QARecord,
    RelevancePair,
)
from tunelab.tasks.ecommerce.taxonomy import Taxonomy

# --- small field checks ---------------------------------------------------------------------------


def _missing(value: Any) -> bool:
    """None, or a float NaN (how pandas writes an empty cell)."""
    return value is None or (isinstance(value, float) and math.isnan(value))


def _integer(value: Any, field: str) -> int:
    """An integer; a float with an integral value (pandas) and a string of digits (CSV) count."""
    if _missing(value):
        raise FieldError(field, "missing")
    if isinstance(value, bool):
        raise FieldError(field, f"expected an integer, got {describe(value)}")
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        return int(value.strip())
    raise FieldError(field, f"expected an integer, got {describe(value)} ({value!r})")


def _identifier(value: Any, field: str) -> str:
    """An id: non-blank text, or an integer (written back as its digits)."""
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return text(None if _missing(value) else value, field).strip()


def _key(value: Any, field: str) -> int | str:
    """A numeric id as an integer (so Parquet's 7 and CSV's "7" agree), any other id as text."""
    if isinstance(value, (int, float)) and not isinstance(value, bool) and not _missing(value):
        return _integer(value, field)
    ident = _identifier(value, field)
    return int(ident) if ident.isdigit() else ident


def _optional_str(row: dict[str, Any], key: str, where: str = "") -> str | None:
    """The key's text, None when missing, null, NaN or blank; `where` prefixes the field in errors."""
    value = row.get(key)
    if _missing(value):
        return None
    value = text(value, f"{where}{key}", allow_empty=True)
    return value if value.strip() else None


def _flag(value: Any, field: str) -> bool | None:
    """A yes/no flag: a boolean, 0/1, or the text 0/1/true/false; None when missing."""
    if _missing(value):
        return None
    if isinstance(value, bool):
        return value
    if isinstance(value, (int, float)) and value in (0, 1):
        return bool(value)
    if isinstance(value, str) and value.strip().lower() in ("0", "1", "true", "false"):
        return value.strip().lower() in ("1", "true")
    raise FieldError(field, f"expected true/false or 0/1, got {describe(value)} ({value!r})")


def _text_list(value: Any, field: str, *, allow_empty: bool = False) -> list[str]:
    return [text(item, f"{field}[{i}]", allow_empty=allow_empty) for i, item in enumerate(as_list(value, field))]


# --- TuneLab products -----------------------------------------------------------------------------


def _price(value: Any) -> float | None:
    if _missing(value) or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, bool):
        raise FieldError("price", f"expected a number, got {describe(value)}")
    try:
        price = float(value)
    except (TypeError, ValueError):
        raise FieldError("price", f"expected a number, got {describe(value)} ({value!r})") from None
    if not math.isfinite(price) or price < 0:
        raise FieldError("price", f"expected a non-negative number, got {value!r}")
    return price


def _category(row: dict[str, Any], taxonomy: Taxonomy, require_label: bool) -> tuple[int | None, str | None]:
    """(id, path) from category_id and/or category_path, both checked against the taxonomy."""
    raw_id, raw_path = row.get("category_id"), _optional_str(row, "category_path")
    if _missing(raw_id) and raw_path is None:
        if require_label:
            raise FieldError("category_id", "missing: a labelled product needs category_id or category_path")
        return None, None
    where = f"the Google Product Taxonomy (version {taxonomy.version})" if taxonomy.version else "the taxonomy"
    if _missing(raw_id):
        try:
            category_id = taxonomy.id_for_path(raw_path)  # type: ignore[arg-type]
        except KeyError:
            raise FieldError("category_path", f"unknown category path {raw_path!r}: not in {where}") from None
        return category_id, taxonomy.path(category_id)
    category_id = _integer(raw_id, "category_id")
    if category_id not in taxonomy:
        raise FieldError("category_id", f"unknown category id {category_id}: not in {where}")
    path = taxonomy.path(category_id)
    if raw_path is not None and " > ".join(p.strip() for p in raw_path.split(">")) != path:
        raise FieldError("category_path", f"{raw_path!r} does not match category {category_id}, which is {path!r}")
    return category_id, path


def parse_product(row: dict[str, Any], taxonomy: Taxonomy, *, require_label: bool = True) -> Product:
    """A TuneLab product row; its label must be a category of `taxonomy`."""
    bullets = row.get("bullet_points")
    category_id, category_path = _category(row, taxonomy, require_label)
    return Product(
        id=_identifier(row.get("id"), "id"),
        title=text(row.get("title"), "title").strip(),
        description=_optional_str(row, "description") or "",
        bullet_points=[] if _missing(bullets) else _text_list(bullets, "bullet_points"),
        brand=_optional_str(row, "brand"),
        color=_optional_str(row, "color"),
        price=_price(row.get("price")),
        locale=_optional_str(row, "locale"),
        category_id=category_id,
        category_path=category_path,
        split=_optional_str(row, "split"),
    )


# --- MAVE -----------------------------------------------------------------------------------------


def _evidence(raw: Any, field: str, paragraphs: list[Paragraph]) -> Evidence:
    raw = as_dict(raw, field)
    value = text(raw.get("value"), f"{field}.value")
    pid = _integer(raw.get("pid"), f"{field}.pid")
    if not 0 <= pid < len(paragraphs):
        raise FieldError(f"{field}.pid", f"paragraph {pid} does not exist (the record has {len(paragraphs)} paragraphs)")
    begin, end = _integer(raw.get("begin"), f"{field}.begin"), _integer(raw.get("end"), f"{field}.end")
    size = len(paragraphs[pid].text)
    if not 0 <= begin < size:
        raise FieldError(f"{field}.begin", f"{begin} is outside paragraph {pid}, whose text has {size} characters")
    if not begin < end <= size:
        reason = f"{end} is outside paragraph {pid} after begin {begin} (its text has {size} characters)"
        raise FieldError(f"{field}.end", reason)
    span = paragraphs[pid].text[begin:end]
    if span != value:
        reason = f"{value!r} is not the text at paragraph {pid} [{begin}:{end}], which reads {span!r}"
        raise FieldError(f"{field}.value", reason)
    return Evidence(value=value, pid=pid, begin=begin, end=end)


def parse_mave(row: dict[str, Any]) -> AttributeRecord:
    """A MAVE record; every evidence must lie inside its paragraph and spell its value."""
    paragraphs = []
    for i, raw in enumerate(as_list(row.get("paragraphs"), "paragraphs")):
        raw = as_dict(raw, f"paragraphs[{i}]")
        paragraphs.append(
            Paragraph(
                text=text(raw.get("text"), f"paragraphs[{i}].text", allow_empty=True),
                source=text(raw.get("source"), f"paragraphs[{i}].source", allow_empty=True),
            )
        )
    attributes = []
    for i, raw in enumerate(as_list(row.get("attributes"), "attributes")):
        field = f"attributes[{i}]"
        raw = as_dict(raw, field)
        evidences = [
            _evidence(e, f"{field}.evidences[{j}]", paragraphs)
            for j, e in enumerate(as_list(raw.get("evidences"), f"{field}.evidences"))
        ]
        attributes.append(Attribute(key=text(raw.get("key"), f"{field}.key").strip(), evidences=evidences))
    return AttributeRecord(
        id=_identifier(row.get("id"), "id"),
        category=text(row.get("category"), "category").strip(),
        paragraphs=paragraphs,
        attributes=attributes,
        split=_optional_str(row, "split"),
    )


# --- AmazonQA -------------------------------------------------------------------------------------

QUESTION_TYPES = ("yesno", "descriptive")


def _answer(raw: Any, field: str) -> Answer:
    raw = as_dict(raw, field)
    helpful = raw.get("helpful")
    votes = None
    if not _missing(helpful):
        items = as_list(helpful, f"{field}.helpful")
        if len(items) != 2:
            raise FieldError(f"{field}.helpful", f"expected [helpful, total], got {len(items)} numbers")
        votes = (_integer(items[0], f"{field}.helpful[0]"), _integer(items[1], f"{field}.helpful[1]"))
    return Answer(
        text=text(raw.get("answerText"), f"{field}.answerText"),
        answer_type=_optional_str(raw, "answerType", f"{field}."),
        helpful=votes,
    )


def parse_amazonqa(row: dict[str, Any]) -> QARecord:
    """An AmazonQA record (its camelCase field names) as a `QARecord`."""
    question_type = row.get("questionType")
    if _missing(question_type):
        raise FieldError("questionType", "missing")
    if question_type not in QUESTION_TYPES:
        raise FieldError("questionType", f"expected 'yesno' or 'descriptive', got {question_type!r}")
    qid = row.get("qid")
    return QARecord(
        qid=None if _missing(qid) else _key(qid, "qid"),
        asin=_identifier(row.get("asin"), "asin"),
        category=_optional_str(row, "category"),
        question=text(row.get("questionText"), "questionText").strip(),
        question_type=question_type,
        review_snippets=_text_list(row.get("review_snippets"), "review_snippets"),
        answers=[_answer(a, f"answers[{i}]") for i, a in enumerate(as_list(row.get("answers"), "answers"))],
        is_answerable=_flag(row.get("is_answerable"), "is_answerable"),
        split=_optional_str(row, "split"),
    )


# --- ESCI (Amazon Shopping Queries) ----------------------------------------------------------------

_LABEL_NAMES = {name.lower(): code for code, name in ESCI_LABELS.items()}


def parse_esci_example(row: dict[str, Any]) -> RelevancePair:
    """One row of shopping_queries_dataset_examples (the product is joined in by the loader)."""
    label = row.get("esci_label")
    if _missing(label):
        raise FieldError("esci_label", "missing")
    code = label if label in ESCI_LABELS else _LABEL_NAMES.get(str(label).strip().lower())
    if code is None:
        raise FieldError("esci_label", f"expected one of E, S, C, I, got {label!r}")
    example_id = row.get("example_id")
    return RelevancePair(
        example_id=None if _missing(example_id) else _integer(example_id, "example_id"),
        query_id=_key(row.get("query_id"), "query_id"),
        query=text(row.get("query"), "query").strip(),
        product_id=_identifier(row.get("product_id"), "product_id"),
        locale=_identifier(row.get("product_locale"), "product_locale"),
        label=code,
        split=_optional_str(row, "split"),
        small_version=_flag(row.get("small_version"), "small_version"),
        large_version=_flag(row.get("large_version"), "large_version"),
    )


def parse_esci_product(row: dict[str, Any]) -> Product:
    """One row of shopping_queries_dataset_products; the bullet-point cell holds one bullet a line."""
    bullets = _optional_str(row, "product_bullet_point") or ""
    return Product(
        id=_identifier(row.get("product_id"), "product_id"),
        title=text(None if _missing(row.get("product_title")) else row.get("product_title"), "product_title").strip(),
        description=_optional_str(row, "product_description") or "",
        bullet_points=[line.strip() for line in bullets.split("\n") if line.strip()],
        brand=_optional_str(row, "product_brand"),
        color=_optional_str(row, "product_color"),
        locale=_optional_str(row, "product_locale"),
    )


# --- ECInstruct -----------------------------------------------------------------------------------


def _options(value: Any) -> list[str]:
    """Answer options: a list, JSON or Python-literal list text, or one plain text; none -> []."""
    if _missing(value):
        return []
    if isinstance(value, str):
        stripped = value.strip()
        if not stripped:
            return []
        if stripped.startswith("["):
            for decode in (json.loads, ast.literal_eval):
                try:
                    value = decode(stripped)
                    break
                except (ValueError, SyntaxError):
                    continue
        if isinstance(value, str):
            return [stripped]
    if isinstance(value, tuple):
        value = list(value)
    if not isinstance(value, list):
        raise FieldError("options", f"expected a list of options or text, got {describe(value)}")
    out = []
    for i, item in enumerate(value):
        if isinstance(item, (dict, list)):
            raise FieldError(f"options[{i}]", f"expected text, got {describe(item)}")
        out.append(str(item))
    return out


def parse_ecinstruct(row: dict[str, Any]) -> InstructionRecord:
    """An ECInstruct example; a structured `output` is kept as its JSON text."""
    output = row.get("output")
    if isinstance(output, (list, dict)):
        output = json.dumps(output, ensure_ascii=False)
    raw_input = row.get("input")
    return InstructionRecord(
        task=text(row.get("task"), "task").strip(),
        setting=_optional_str(row, "setting"),
        instruction=text(row.get("instruction"), "instruction"),
        input="" if _missing(raw_input) else text(raw_input, "input", allow_empty=True),
        options=_options(row.get("options")),
        output=text(None if _missing(output) else output, "output"),
        split=_optional_str(row, "split"),
    )
