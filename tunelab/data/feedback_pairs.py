"""Preference pairs from feedback, and the preference dataset they make.

Rules (`pairs_from_feedback`): an edit gives chosen = the edit, rejected = the answer it improves; a
side-by-side choice gives chosen = the winner, rejected = each other answer (one pair per loser); a
rating alone gives no pair (there is no better answer to prefer), nor do a winner and a loser with
the same text, nor a pair with a blank side (an answer stopped before its first word: a dataset
record needs both texts); a pair made twice is kept once. `build_preference_dataset` registers the pairs as a
preference dataset whose provenance lists the feedback records, so lineage can be traced back;
`export_feedback` writes the records, or the pairs they make, as JSON Lines.
"""

from __future__ import annotations

import json
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from tunelab.data.feedback import FeedbackError, FeedbackInfo, UnknownFeedbackError, feedback_jsonl, list_feedback
from tunelab.data.hashing import canonical_json
from tunelab.data.records import Message, PreferenceRecord, record_to_row
from tunelab.data.registry import DatasetRegistry, RegisteredDataset
from tunelab.data.writers import write_jsonl
from tunelab.settings import Settings
from tunelab.store import Store

# Why a record, or a pair it would have made, gave no pair (the keys of `PairBuild.skipped`).
RATING_ONLY = "rating_only"  # a rating with no edit and no choice: no alternative answer to prefer
SAME_TEXT = "identical_answers"  # chosen and rejected would be the same text
DUPLICATE = "duplicate_pair"  # the same prompt, chosen and rejected as an earlier pair
BLANK = "blank_answer"  # chosen or rejected would be blank (an answer stopped before its first word)
REASONS = {RATING_ONLY: "a rating alone, with no edit or choice, has no better answer to prefer",
           SAME_TEXT: "the preferred and the other answer have the same text",
           DUPLICATE: "the same pair came from an earlier record",
           BLANK: "one of the two answers is blank"}


@dataclass
class PairBuild:
    """The pairs, which record and rule made each, and what gave none. `skipped` counts records
    (rating_only) or would-be pairs (identical_answers, duplicate_pair); `skipped_ids` says which."""

    records: list[PreferenceRecord] = field(default_factory=list)
    sources: list[dict] = field(default_factory=list)  # per pair: {"feedback_id", "rule": edit | choice}
    feedback: int = 0  # records considered
    from_edits: int = 0
    from_choices: int = 0
    skipped: dict[str, int] = field(default_factory=dict)
    skipped_ids: list[dict] = field(default_factory=list)  # {"id", "reason"}

    @property
    def used_ids(self) -> list[str]:
        """The records at least one pair came from, in order."""
        return list(dict.fromkeys(s["feedback_id"] for s in self.sources))

    def counts(self) -> dict:
        return {"feedback": self.feedback, "pairs": len(self.records), "from_edits": self.from_edits,
                "from_choices": self.from_choices, "skipped": dict(self.skipped), "skipped_ids": list(self.skipped_ids)}

    def _skip(self, feedback_id: str, reason: str) -> None:
        self.skipped[reason] = self.skipped.get(reason, 0) + 1
        self.skipped_ids.append({"id": feedback_id, "reason": reason})


def _candidates(item: FeedbackInfo) -> list[tuple[str, str, str]]:
    """(rule, chosen text, rejected text) for each pair the record stands for."""
    out = []
    if item.edit is not None:
        out.append(("edit", item.edit, item.answers[item.answer_index].text))
    if item.choice is not None:
        winner = item.answers[item.choice].text
        out += [("choice", winner, a.text) for i, a in enumerate(item.answers) if i != item.choice]
    return out


def pairs_from_feedback(items: list[FeedbackInfo]) -> PairBuild:
    """Preference records from feedback records, in their order (see the module's rules)."""
    build, seen = PairBuild(feedback=len(items)), set()
    for item in items:
        candidates = _candidates(item)
        if not candidates:
            build._skip(item.id, RATING_ONLY)
            continue
        prompt = [Message(role=m["role"], content=m["content"]) for m in item.messages]
        for rule, chosen, rejected in candidates:
            if not chosen.strip() or not rejected.strip():  # a preference record needs both texts
                build._skip(item.id, BLANK)
                continue
            if chosen.strip() == rejected.strip():
                build._skip(item.id, SAME_TEXT)
                continue
            record = PreferenceRecord(prompt=prompt, chosen=[Message(role="assistant", content=chosen)],
                                      rejected=[Message(role="assistant", content=rejected)])
            key = canonical_json(record)
            if key in seen:
                build._skip(item.id, DUPLICATE)
                continue
            seen.add(key)
            build.records.append(record)
            build.sources.append({"feedback_id": item.id, "rule": rule})
            if rule == "edit":
                build.from_edits += 1
            else:
                build.from_choices += 1
    return build


def _no_pairs(build: PairBuild) -> FeedbackError:
    if not build.feedback:
        return FeedbackError("No feedback records match; rate, edit or compare answers in the playground first.",
                             "ids")
    why = "; ".join(f"{n} {REASONS[r]}" for r, n in build.skipped.items())
    return FeedbackError(f"No preference pair can be made from the {build.feedback} feedback record(s) selected "
                         f"({why}). Edit an answer into a better one, or pick the better of two answers.", "ids")


def build_preference_dataset(store: Store, settings: Settings, name: str, *, visible_to: str | None = None,
                             ids: list[str] | None = None, model: str | None = None,
                             adapter: str | None = None) -> tuple[RegisteredDataset, PairBuild]:
    """Register the pairs from the selected feedback (all of it that `visible_to` may see, or `ids`,
    filtered by `model`/`adapter`; oldest first) as preference dataset `name`. An id that is not
    there raises UnknownFeedbackError; no pair at all raises FeedbackError saying why."""
    registry = DatasetRegistry(store, settings)
    registry.path_for(name)  # a malformed name is refused before anything is read
    if ids is not None:  # each one must be there (and this caller's to see), whatever the filters
        found = {i.id for i in list_feedback(store, visible_to=visible_to, ids=ids, limit=None)[0]}
        missing = [i for i in ids if i not in found]
        if missing:
            raise UnknownFeedbackError(missing[0])
    items, _ = list_feedback(store, visible_to=visible_to, model=model, adapter=adapter, ids=ids, limit=None)
    build = pairs_from_feedback(list(reversed(items)))
    if not build.records:
        raise _no_pairs(build)
    provenance = {"kind": "feedback", "feedback_ids": build.used_ids, "pairs": build.sources,
                  "filters": {"ids": ids, "model": model, "adapter": adapter}, "skipped": dict(build.skipped)}
    with tempfile.TemporaryDirectory(prefix="tunelab-feedback-") as tmp:
        path = Path(tmp) / f"{name}.jsonl"
        write_jsonl(build.records, path)
        info = registry.add(path, name, "preference", source=f"feedback:{len(build.used_ids)} records",
                            provenance=provenance)
    return info, build


def export_feedback(store: Store, *, visible_to: str | None = None, model: str | None = None,
                    adapter: str | None = None, pairs: bool = False) -> str:
    """JSON Lines, oldest first: the feedback records (`FeedbackInfo.to_dict`), or with `pairs` the
    preference pairs they make (TuneLab's preference format: prompt, chosen, rejected)."""
    items, _ = list_feedback(store, visible_to=visible_to, model=model, adapter=adapter, limit=None)
    items.reverse()
    if pairs:
        return "".join(json.dumps(record_to_row(r), ensure_ascii=False) + "\n"
                       for r in pairs_from_feedback(items).records)
    return feedback_jsonl(items)
