"""Request and response models of the feedback API (/v1/feedback): what the chat playground posts
when a user rates, edits or picks an answer, what it reads back, and the two steps that close the
loop (a preference dataset from feedback; a DPO job on top of the adapter that answered, evaluated
against it). Field rules beyond types (the prompt ends with the user's turn, indexes point at
answers that exist) are the library's (`tunelab.data.feedback`), answered as 400s naming the field."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from tunelab.serve.control_protocol import MAX_PRIORITY, Dataset
from tunelab.serve.timestamps import UtcDateTime


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class FeedbackMessage(_Model):
    role: Literal["system", "user", "assistant", "tool"]
    content: str


class FeedbackAnswer(_Model):
    model: str = Field(description="The model that answered: a base model or upstream model name.")
    adapter: str | None = Field(default=None, description="The adapter on that model; null: the model itself.")
    text: str = Field(description="The answer as the user saw it.")


class FeedbackCreateRequest(_Model):
    messages: list[FeedbackMessage] = Field(description="The prompt as chat messages, ending with the user's turn.")
    answers: list[FeedbackAnswer] = Field(description="One answer, or two to four side by side (in display order).")
    rating: Literal[1, -1] | None = Field(default=None, description="+1 (good) or -1 (bad) for answers[answer_index].")
    answer_index: int = Field(default=0, description="The answer `rating` and `edit` are about.")
    edit: str | None = Field(default=None, description="The user's better version of answers[answer_index].")
    choice: int | None = Field(default=None, description="Side by side: the index of the better answer.")
    source: str = Field(default="playground", description="Where it was given (playground, api, ...).")
    conversation_id: str | None = Field(default=None, description="The client's conversation id, to group records.")
    note: str | None = None


class Feedback(BaseModel):
    object: Literal["feedback"] = "feedback"
    id: str
    created_at: UtcDateTime
    owner: str | None = Field(description="The API key that posted it (null: the local caller).")
    messages: list[FeedbackMessage]
    answers: list[FeedbackAnswer]
    answer_index: int
    rating: int | None
    edit: str | None
    choice: int | None
    source: str
    conversation_id: str | None
    note: str | None


class FeedbackList(BaseModel):
    object: Literal["list"] = "list"
    data: list[Feedback]
    total: int = Field(description="How many records match the filters, over all pages.")


class FeedbackDeleted(BaseModel):
    id: str
    object: Literal["feedback"] = "feedback"
    deleted: bool = True


class BuildDatasetRequest(_Model):
    name: str = Field(description="The preference dataset to register (a new name).")
    ids: list[str] | None = Field(default=None, description="These feedback records only; default: every record "
                                                            "the caller may see that matches model/adapter.")
    model: str | None = Field(default=None, description="Only records with an answer from this model.")
    adapter: str | None = Field(default=None, description="Only records with an answer from this adapter.")


class SkippedFeedback(BaseModel):
    id: str
    reason: Literal["rating_only", "identical_answers", "duplicate_pair", "blank_answer"]


class PairCounts(BaseModel):
    feedback: int = Field(description="Feedback records considered.")
    pairs: int = Field(description="Preference pairs made (the dataset's records).")
    from_edits: int
    from_choices: int
    skipped: dict[str, int] = Field(description="Why no pair: rating_only (a rating with no edit or choice: no "
                                                "better answer), identical_answers, duplicate_pair, blank_answer "
                                                "(one side of the pair is blank) -> count.")
    skipped_ids: list[SkippedFeedback]


class BuildDatasetResponse(BaseModel):
    object: Literal["feedback_dataset"] = "feedback_dataset"
    dataset: Dataset
    counts: PairCounts


class TrainDPORequest(_Model):
    dataset: str = Field(description="A registered preference dataset (e.g. from /v1/feedback/build-dataset).")
    adapter: str | None = Field(default=None, description="The parent: the LoRA adapter that gave the answers, "
                                                          "trained further; null: the base model.")
    name: str = Field(description="The new adapter's name.")
    base_model: str | None = Field(default=None, description="Default: the parent's base model, else the served one.")
    max_steps: int | None = Field(default=None, ge=1, description="Stop after this many steps (default: epochs).")
    epochs: float | None = Field(default=None, gt=0)
    learning_rate: float | None = Field(default=None, gt=0)
    beta: float | None = Field(default=None, gt=0, description="DPO temperature.")
    batch_size: int | None = Field(default=None, ge=1)
    val_fraction: float | None = Field(default=None, ge=0, lt=1, description="Pairs held out for the evaluation "
                                                                             "(default: the recipe's, 0.1).")
    eval_dataset: str | None = Field(default=None, description="Held-out pairs instead of a split of `dataset`.")
    recipe: dict[str, Any] = Field(default_factory=dict, description="Any other DPO recipe fields (seed, "
                                                                     "max_seq_len, lora, precision...).")
    gate: list[str] = Field(default_factory=lambda: ["preference_accuracy >= baseline"],
                            description="Gates the new adapter must pass against its parent on the held-out pairs.")
    eval_limit: int | None = Field(default=None, ge=1, description="Evaluate on at most this many held-out pairs.")
    priority: int = Field(default=0, ge=-MAX_PRIORITY, le=MAX_PRIORITY)
