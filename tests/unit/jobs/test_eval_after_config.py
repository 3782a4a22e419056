"""A train job's `eval_after` is checked when the job is submitted: DPO defaults (task preference,
gate preference_accuracy >= baseline, the run's held-out pairs), the field named for each mistake,
and nothing queued for a bad one."""

from __future__ import annotations

import pytest

from tunelab.jobs.kinds import JobConfigError, validate
from tunelab.jobs.service import JobService

DPO = {"recipe": "dpo", "dataset": "prefs", "base_model": "tiny", "sft_adapter": "shop", "adapter_name": "shop-dpo"}


def test_dpo_defaults(settings):
    clean = validate("train", {"recipe": DPO, "eval_after": {}}, settings)
    after = clean["eval_after"]
    assert after["task"] == "preference" and after["gate"] == ["preference_accuracy >= baseline"]
    assert after["baseline"] is None and after["data"] is None and "models" not in after
    assert after["split"] == "test" and after["precision"] == "auto"  # the eval config's own defaults
    assert clean["recipe"]["sft_adapter"] == "shop"
    own = validate("train", {"recipe": DPO, "eval_after": {"gate": [], "limit": 5, "baseline": "tiny"}}, settings)
    assert own["eval_after"]["gate"] == [] and own["eval_after"]["limit"] == 5 and own["eval_after"]["baseline"] == "tiny"
    sft = validate("train", {"recipe": {"dataset": "d", "base_model": "tiny"},
                             "eval_after": {"task": "classify", "limit": 3, "gate": ["accuracy >= baseline"]}}, settings)
    assert sft["eval_after"]["task"] == "classify" and sft["eval_after"]["gate"] == ["accuracy >= baseline"]


@pytest.mark.parametrize("recipe, after, field, words", [
    (DPO, [], "eval_after", "an object of eval config fields"),
    (DPO, {"models": ["a", "b"]}, "eval_after.models", "set by the job"),
    (DPO, {"baseline": ""}, "eval_after.baseline", "a model or adapter name"),
    (DPO, {"task": "sing"}, "eval_after.task", "Input should be"),
    (DPO, {"task": "retrieval"}, "eval_after.task", "search modes"),
    (DPO, {"gate": ["accuracy >= baseline"]}, "eval_after.gate", "its metrics are: preference_accuracy"),
    (DPO, {"gate": ["preference_accuracy >>= 1"]}, "eval_after.gate", "expected a number or a metric"),
    (DPO, {"limit": 0}, "eval_after.limit", "greater than or equal to 1"),
    (DPO, {"colour": "red"}, "eval_after.colour", "unknown key"),
    ({**DPO, "val_fraction": 0}, {}, "eval_after.data", "no held-out preference pairs"),
    ({**DPO, "adapter_name": "shop"}, {}, "eval_after", "appears twice"),
    ({"dataset": "d", "base_model": "tiny"}, {}, "eval_after.task", "which evaluation to run"),
    ({"dataset": "d", "base_model": "tiny"}, {"task": "preference"}, "eval_after.data", "no held-out"),
    ({"recipe": "classifier", "dataset": "d"}, {"task": "classify"}, "eval_after", "encoder"),
])
def test_bad_eval_after_is_refused_naming_the_field(settings, store, recipe, after, field, words):
    with pytest.raises(JobConfigError) as err:
        JobService(store, settings).submit("train", {"recipe": recipe, "eval_after": after})
    assert err.value.field == field and words in str(err.value), (err.value.field, str(err.value))
    assert JobService(store, settings).list()[1] == 0  # nothing queued


def test_eval_after_goes_with_a_recipe_only(settings):
    with pytest.raises(JobConfigError, match="resume"):
        validate("train", {"resume": "run-1", "eval_after": {}}, settings)
    with pytest.raises(JobConfigError, match="recipe"):
        validate("train", {"eval_after": {}}, settings)
