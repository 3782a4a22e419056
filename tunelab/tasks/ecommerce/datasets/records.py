"""Typed e-commerce records the task code works with, whatever file they came from: a `Product`
(optionally labelled with a Google Product Taxonomy category), an `AttributeRecord` (MAVE: paragraphs
plus attribute evidences as character spans), a `QARecord` (AmazonQA: question, review snippets,
answers, answerability), a `RelevancePair` (ESCI: query, product, E/S/C/I label) and an
`InstructionRecord` (ECInstruct), which converts to a `tunelab.data.ChatRecord`. All are immutable
and validated by the parsers in `parsers.py`, so an evidence span always matches its paragraph."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict

from tunelab.data.records import ChatRecord, ClassificationRecord, Message

EsciLabel = Literal["E", "S", "C", "I"]

ESCI_LABELS: dict[str, str] = {"E": "Exact", "S": "Substitute", "C": "Complement", "I": "Irrelevant"}
"""The ESCI relevance labels and what they mean."""

ESCI_GAINS: dict[str, float] = {"E": 1.0, "S": 0.1, "C": 0.01, "I": 0.0}
"""Graded gains for nDCG, as in the KDD Cup 2022 query-product ranking task."""


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Product(_Frozen):
    """A product listing. `category_id`/`category_path` are its Google Product Taxonomy label when
    the source has one (TuneLab's product files); ESCI products have none. `split` is set when the
    source fixes one."""

    id: str
    title: str
    description: str = ""
    bullet_points: list[str] = []
    brand: str | None = None
    color: str | None = None
    price: float | None = None
    locale: str | None = None
    category_id: int | None = None
    category_path: str | None = None
    split: str | None = None

    def text(self, *, brand: bool = True, bullets: bool = True, description: bool = True) -> str:
        """The listing as one text, title first: what a classifier or a retriever reads."""
        parts = [self.title]
        if brand and self.brand:
            parts.append(f"Brand: {self.brand}")
        if bullets and self.bullet_points:
            parts.extend(f"- {b}" for b in self.bullet_points)
        if description and self.description:
            parts.append(self.description)
        return "\n".join(parts)

    def to_classification(self, label: Literal["path", "id"] = "path", **text_options: bool) -> ClassificationRecord:
        """A `ClassificationRecord` of `text()` labelled with the category path (or id)."""
        if self.category_id is None:
            raise ValueError(f"Product {self.id!r} has no category label to classify by.")
        value: str | int = self.category_path if label == "path" and self.category_path else self.category_id
        return ClassificationRecord(text=self.text(**text_options), label=value)


class Paragraph(_Frozen):
    """One piece of a product profile (MAVE): its text and where it came from (title, description, ...)."""

    text: str
    source: str


class Evidence(_Frozen):
    """Where an attribute value occurs: ``paragraphs[pid].text[begin:end] == value`` (end exclusive)."""

    value: str
    pid: int
    begin: int
    end: int


class Attribute(_Frozen):
    """An attribute key and its evidences; no evidence means the value is absent from the text."""

    key: str
    evidences: list[Evidence] = []

    @property
    def value(self) -> str | None:
        """The first evidence's value (MAVE lists title evidences first), or None when absent."""
        return self.evidences[0].value if self.evidences else None

    @property
    def values(self) -> list[str]:
        """Distinct evidence values, in order of first appearance."""
        return list(dict.fromkeys(e.value for e in self.evidences))


class AttributeRecord(_Frozen):
    """A MAVE record: product id, category name, paragraphs and attributes."""

    id: str
    category: str
    paragraphs: list[Paragraph]
    attributes: list[Attribute]
    split: str | None = None

    def text(self, sep: str = "\n") -> str:
        """The paragraphs joined, in order."""
        return sep.join(p.text for p in self.paragraphs)

    def values(self) -> dict[str, str | None]:
        """Attribute key -> value (None when absent): the target of an extraction task."""
        return {a.key: a.value for a in self.attributes}


class Answer(_Frozen):
    """One community answer (AmazonQA ``answerText``, ``answerType``, ``helpful`` = [helpful, total])."""

    text: str
    answer_type: str | None = None
    helpful: tuple[int, int] | None = None


class QARecord(_Frozen):
    """An AmazonQA question about a product (`asin`), with review snippets and answers.
    `is_answerable` says whether the snippets hold the answer."""

    qid: str | int | None = None
    asin: str
    category: str | None = None
    question: str
    question_type: Literal["yesno", "descriptive"]
    review_snippets: list[str]
    answers: list[Answer]
    is_answerable: bool | None = None
    split: str | None = None

    @property
    def answer(self) -> str | None:
        """The most helpful answer's text (the first on a tie), or None without answers."""
        if not self.answers:
            return None
        return max(self.answers, key=lambda a: a.helpful[0] if a.helpful else 0).text


class RelevancePair(_Frozen):
    """An ESCI judgement: how relevant `product_id` is to `query` (E, S, C or I)."""

    example_id: int | None = None
    query_id: int | str
    query: str
    product_id: str
    locale: str
    label: EsciLabel
    split: str | None = None
    small_version: bool | None = None
    large_version: bool | None = None
    product: Product | None = None

    @property
    def gain(self) -> float:
        """The label's nDCG gain (`ESCI_GAINS`)."""
        return ESCI_GAINS[self.label]


class InstructionRecord(_Frozen):
    """An ECInstruct example: task and setting names, instruction, input, answer options, output."""

    task: str
    setting: str | None = None
    instruction: str
    input: str = ""
    options: list[str] = []
    output: str
    split: str | None = None

    def prompt(self) -> str:
        """The user turn: instruction, then the input and the options when present."""
        parts = [self.instruction.strip()]
        if self.input.strip():
            parts.append(self.input.strip())
        if self.options:
            parts.append("Options:\n" + "\n".join(self.options))
        return "\n\n".join(parts)

    def to_chat(self, system: str | None = None) -> ChatRecord:
        """A one-turn `ChatRecord` (optional system message, `prompt()`, the output) for SFT."""
        messages = [Message(role="system", content=system)] if system else []
        messages += [Message(role="user", content=self.prompt()), Message(role="assistant", content=self.output)]
        return ChatRecord(messages=messages)
