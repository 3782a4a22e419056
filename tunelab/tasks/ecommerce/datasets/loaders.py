"""Load the public e-commerce datasets (and TuneLab's own product files) into typed records.

Each loader reads a .jsonl/.json/.csv/.parquet file with `tunelab.data.read_rows`, parses every row
with the format's parser, and raises `DatasetError` (file, line or record, field, reason) for the
first bad row; with ``skip_invalid=True`` bad rows are left out and counted in `report`. A file that
yields no record is always an error. ESCI's Parquet files are filtered inside pyarrow (locale,
version, split, product ids) before any row becomes a Python object: the real files hold millions.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any, TypeVar

from tunelab.data.errors import DatasetError, Location, SkipReport
from tunelab.data.loader import finish, parse_rows
from tunelab.data.readers import RawRow, read_rows
from tunelab.tasks.ecommerce.datasets.parsers import (
    parse_amazonqa,
    parse_ecinstruct,
    parse_esci_example,
    parse_esci_product,
    parse_mave,
    parse_product,
)
from tunelab.tasks.ecommerce.datasets.records import (
    AttributeRecord,
    InstructionRecord,
    Product,
    QARecord,
    RelevancePair,
)
from tunelab.tasks.ecommerce.taxonomy import Taxonomy

T = TypeVar("T")

ESCI_EXAMPLE_COLUMNS = ("query", "query_id", "product_id", "product_locale", "esci_label")
ESCI_PRODUCT_COLUMNS = ("product_id", "product_title")
ESCI_VERSIONS = ("small", "large")
PARQUET_BATCH_ROWS = 65_536  # rows per Parquet batch: bounds memory on ESCI's multi-million-row files


@functools.lru_cache(maxsize=1)
def packaged_taxonomy() -> Taxonomy:
    """The packaged Google Product Taxonomy, parsed once per process."""
    return Taxonomy.load()


def parse_all(
    rows: Iterable[RawRow],
    parser: Callable[[dict[str, Any]], T],
    source: str,
    *,
    skip_invalid: bool = False,
    report: SkipReport | None = None,
    allow_empty: bool = False,
) -> list[T]:
    """Parse `rows` with `tunelab.data`'s row loop: the first bad row raises `DatasetError` unless
    `skip_invalid` (then it is counted in `report`). Raises when nothing usable is left, unless
    `allow_empty`."""
    report = report if report is not None else SkipReport()
    out: list[T] = parse_rows(rows, parser, skip_invalid=skip_invalid, report=report)  # type: ignore[arg-type]
    if not allow_empty:
        finish(out, report, source)  # type: ignore[arg-type]
    return out


def load_products(
    path: str | Path,
    *,
    taxonomy: Taxonomy | None = None,
    require_label: bool = True,
    skip_invalid: bool = False,
    report: SkipReport | None = None,
) -> list[Product]:
    """TuneLab product rows (id, title, description, bullet_points, brand, price, category_id /
    category_path, split). Labels are checked against `taxonomy` (the packaged one by default);
    with ``require_label=False`` unlabelled products are accepted."""
    tax = taxonomy or packaged_taxonomy()
    parser = functools.partial(parse_product, taxonomy=tax, require_label=require_label)
    return parse_all(read_rows(path), parser, str(path), skip_invalid=skip_invalid, report=report)


def load_mave(path: str | Path, *, skip_invalid: bool = False, report: SkipReport | None = None) -> list[AttributeRecord]:
    """MAVE JSON Lines (google-research-datasets/MAVE, the full version with paragraphs): every
    evidence's begin/end must lie inside its paragraph and spell its value."""
    return parse_all(read_rows(path), parse_mave, str(path), skip_invalid=skip_invalid, report=report)


def load_amazonqa(path: str | Path, *, skip_invalid: bool = False, report: SkipReport | None = None) -> list[QARecord]:
    """AmazonQA JSON Lines (train/val/test files; questionText, questionType, review_snippets,
    answers, is_answerable, asin, category, qid)."""
    return parse_all(read_rows(path), parse_amazonqa, str(path), skip_invalid=skip_invalid, report=report)


def load_ecinstruct(
    path: str | Path,
    *,
    task: str | None = None,
    setting: str | None = None,
    split: str | None = None,
    skip_invalid: bool = False,
    report: SkipReport | None = None,
) -> list[InstructionRecord]:
    """ECInstruct (NingLab/ECInstruct: a JSON list or JSON Lines of task, setting, instruction,
    input, options, output, split). `task`, `setting` and `split` keep only matching rows (compared
    before parsing, so rows you filter out are not checked), e.g. ``setting="IND_Diverse_Instruction",
    split="train"``; ECInstruct's splits are train, val and test."""
    wanted = {k: v for k, v in (("task", task), ("setting", setting), ("split", split)) if v is not None}
    rows: Iterable[RawRow] = read_rows(path)
    if wanted:
        rows = (r for r in rows if not isinstance(r.data, dict) or all(r.data.get(k) == v for k, v in wanted.items()))
    return parse_all(rows, parse_ecinstruct, str(path), skip_invalid=skip_invalid, report=report)


# --- ESCI -----------------------------------------------------------------------------------------


def _filtered_rows(path: Path, required: tuple[str, ...], filters: dict[str, Iterable[Any]]) -> Iterator[RawRow]:
    """Rows of `path` whose column `c` is in `filters[c]` for every filter. Parquet is read in
    batches and filtered in pyarrow, each row keeping its index in the whole file for error
    messages; other formats are read row by row and compared as text (CSV cells are strings)."""
    if path.suffix.lower() != ".parquet":
        wanted = {col: {str(v) for v in values} for col, values in filters.items()}
        for row in read_rows(path):
            if isinstance(row.data, dict) and not all(str(row.data.get(c)) in vals for c, vals in wanted.items()):
                continue
            yield row
        return
    import pyarrow as pa  # lazy: pyarrow is slow to import
    import pyarrow.compute as pc  # lazy: pyarrow is slow to import
    import pyarrow.parquet as pq  # lazy: pyarrow is slow to import

    if not path.is_file():
        raise DatasetError(str(path), "no such file" if not path.exists() else "not a file")
    try:
        parquet = pq.ParquetFile(path)
    except Exception as exc:  # pyarrow raises several types for a bad file
        raise DatasetError(str(path), f"cannot read Parquet: {exc}") from None
    schema = parquet.schema_arrow
    for col in (*required, *filters):
        if col not in schema.names:
            raise DatasetError(str(path), f"missing column (the file has {', '.join(schema.names)})", field=col)
    value_sets = {}  # column -> (values as the column's type, whether to compare as text instead)
    for col, values in filters.items():
        try:
            value_sets[col] = (pa.array(list(values)).cast(schema.field(col).type), False)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowTypeError):
            value_sets[col] = (pa.array([str(v) for v in values]), True)
    offset = 0
    for batch in parquet.iter_batches(batch_size=PARQUET_BATCH_ROWS):
        table = pa.Table.from_batches([batch]).append_column(
            "__row__", pa.array(range(offset, offset + batch.num_rows), pa.int64())
        )
        offset += batch.num_rows
        for col, (value_set, as_text) in value_sets.items():
            column = pc.cast(table[col], pa.string()) if as_text else table[col]
            table = table.filter(pc.is_in(column, value_set=value_set))
        for row in table.to_pylist():
            index = row.pop("__row__")
            yield RawRow(Location(str(path), record=index), row)


def load_esci_products(
    path: str | Path,
    *,
    locale: str | Iterable[str] | None = None,
    ids: Iterable[str] | None = None,
    skip_invalid: bool = False,
    report: SkipReport | None = None,
    allow_empty: bool = False,
) -> list[Product]:
    """Products from shopping_queries_dataset_products (.parquet, or .csv/.jsonl with the same
    columns), optionally only those of `locale` ('us', 'es', 'jp') and `ids`. A product with an
    empty title is an error (or skipped)."""
    filters: dict[str, Iterable[Any]] = {}
    if locale is not None:
        filters["product_locale"] = [locale] if isinstance(locale, str) else list(locale)
    if ids is not None:
        filters["product_id"] = list(ids)
    rows = _filtered_rows(Path(path), ESCI_PRODUCT_COLUMNS, filters)
    return parse_all(rows, parse_esci_product, str(path), skip_invalid=skip_invalid, report=report, allow_empty=allow_empty)


def load_esci(
    examples: str | Path,
    products: str | Path | None = None,
    *,
    locale: str | None = None,
    version: str | None = None,
    split: str | None = None,
    skip_invalid: bool = False,
    report: SkipReport | None = None,
) -> list[RelevancePair]:
    """Query-product relevance pairs from shopping_queries_dataset_examples, each with its product
    joined from shopping_queries_dataset_products when `products` is given (matched on locale and
    product id, as ESCI's README does; None when the product file lacks it).

    `locale` keeps one of 'us', 'es', 'jp'; `version` 'small' (task 1, ranking) or 'large' (tasks
    2 and 3); `split` 'train' or 'test'. Invalid product rows are errors too; with `skip_invalid`
    they are counted in `report` and their pairs get no product."""
    if version is not None and version not in ESCI_VERSIONS:
        raise ValueError(f"Unknown ESCI version {version!r}: use 'small' (task 1) or 'large' (tasks 2 and 3).")
    filters: dict[str, Iterable[Any]] = {}
    if locale is not None:
        filters["product_locale"] = [locale]
    if version is not None:
        filters[f"{version}_version"] = [1]
    if split is not None:
        filters["split"] = [split]
    report = report if report is not None else SkipReport()
    rows = _filtered_rows(Path(examples), ESCI_EXAMPLE_COLUMNS, filters)
    pairs = parse_all(rows, parse_esci_example, str(examples), skip_invalid=skip_invalid, report=report)
    if products is None:
        return pairs
    ids = {p.product_id for p in pairs}
    catalogue = load_esci_products(
        products, locale=sorted({p.locale for p in pairs}), ids=ids, skip_invalid=skip_invalid, report=report,
        allow_empty=True,
    )
    if not catalogue and not report.skipped:
        raise DatasetError(
            str(products),
            f"none of the {len(ids)} products the examples name is in this file (matched on product_id and product_locale)",
        )
    by_key = {(p.locale, p.id): p for p in catalogue}
    return [pair.model_copy(update={"product": by_key.get((pair.locale, pair.product_id))}) for pair in pairs]
