"""What the feedback routes do, on `app.state.feedback`: store, list, show, delete and export feedback
records (an API key sees its own; the local caller and admin keys see all), build a preference
dataset from them, and queue the DPO job that trains on it with its follow-up evaluation against
the parent adapter. Every method is blocking (the store): routes call them in a worker thread."""

from __future__ import annotations

from dataclasses import asdict

from tunelab.adapters.registry import AdapterRegistry
from tunelab.data.feedback import (
    FeedbackInfo,
    add_feedback,
    delete_feedback,
    get_feedback,
    list_feedback,
)
from tunelab.data.feedback_pairs import build_preference_dataset, export_feedback
from tunelab.data.registry import DatasetRegistry
from tunelab.jobs.kinds import JobConfigError
from tunelab.jobs.service import Caller, JobInfo, JobService
from tunelab.serve import feedback_protocol as p
from tunelab.serve.control_service import dataset_view
from tunelab.settings import Settings
from tunelab.store import Store


def _visible_to(caller: Caller) -> str | None:
    return None if caller.admin else caller.owner


def _view(info: FeedbackInfo) -> p.Feedback:
    return p.Feedback(**asdict(info))


class FeedbackService:
    def __init__(self, store: Store, settings: Settings, jobs: JobService, served_base: str) -> None:
        self.store, self.settings, self.jobs, self.served_base = store, settings, jobs, served_base

    def add(self, body: p.FeedbackCreateRequest, caller: Caller) -> p.Feedback:
        data = body.model_dump()
        return _view(add_feedback(self.store, data.pop("messages"), data.pop("answers"), owner=caller.owner, **data))

    def list(self, caller: Caller, *, model: str | None = None, adapter: str | None = None, limit: int = 50,
             offset: int = 0) -> p.FeedbackList:
        items, total = list_feedback(self.store, visible_to=_visible_to(caller), model=model, adapter=adapter,
                                     limit=limit, offset=offset)
        return p.FeedbackList(data=[_view(i) for i in items], total=total)

    def get(self, feedback_id: str, caller: Caller) -> p.Feedback:
        return _view(get_feedback(self.store, feedback_id, visible_to=_visible_to(caller)))

    def delete(self, feedback_id: str, caller: Caller) -> p.FeedbackDeleted:
        return p.FeedbackDeleted(id=delete_feedback(self.store, feedback_id, visible_to=_visible_to(caller)).id)

    def export(self, caller: Caller, *, model: str | None = None, adapter: str | None = None,
               format: str = "feedback") -> str:
        """JSON Lines, oldest first: the feedback records, or (`pairs`) the preference pairs they make."""
        return export_feedback(self.store, visible_to=_visible_to(caller), model=model, adapter=adapter,
                               pairs=format == "pairs")

    def build_dataset(self, body: p.BuildDatasetRequest, caller: Caller) -> p.BuildDatasetResponse:
        info, build = build_preference_dataset(self.store, self.settings, body.name, visible_to=_visible_to(caller),
                                               ids=body.ids, model=body.model, adapter=body.adapter)
        return p.BuildDatasetResponse(dataset=dataset_view(info), counts=p.PairCounts(**build.counts()))

    def train_dpo(self, body: p.TrainDPORequest, caller: Caller) -> JobInfo:
        """Queue DPO on `body.dataset` from the parent adapter (or the base model), then its evaluation
        against that parent on the held-out pairs, gated; the job as queued."""
        data = DatasetRegistry(self.store, self.settings).get(body.dataset)  # unknown: a 404 listing them
        if data.format != "preference":
            raise JobConfigError(f"Dataset '{body.dataset}' holds {data.format} records; DPO trains on preference "
                                 "pairs (build one with POST /v1/feedback/build-dataset).", field="dataset")
        adapters = AdapterRegistry(self.store, self.settings)
        parent = adapters.get(body.adapter) if body.adapter else None  # unknown: a 404 listing them
        if parent is not None and parent.kind != "lora":
            raise JobConfigError(f"DPO trains a LoRA adapter further; '{parent.name}' is a {parent.kind} adapter.",
                                 field="adapter")
        if adapters.exists(body.name):
            raise JobConfigError(f"An adapter named '{body.name}' already exists; pick another name.", field="name")
        given = body.model_dump(include={"max_steps", "epochs", "learning_rate", "beta", "batch_size", "val_fraction",
                                         "eval_dataset"}, exclude_none=True)
        recipe = {**body.recipe, **given, "recipe": "dpo", "dataset": body.dataset, "adapter_name": body.name,
                  "base_model": body.base_model or (parent.base_model if parent else self.served_base),
                  "sft_adapter": body.adapter}
        eval_after = {"task": "preference", "gate": list(body.gate)}
        if body.eval_limit is not None:
            eval_after["limit"] = body.eval_limit
        return self.jobs.submit("train", {"recipe": recipe, "eval_after": eval_after}, caller=caller,
                                priority=body.priority)
