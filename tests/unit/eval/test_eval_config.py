"""EvalConfig from YAML and flags: defaults, overrides, and refusals that name the file and key."""

import pytest

from tunelab.eval.config import EvalConfig, EvalConfigError, JudgeConfig, eval_config_from, load_eval_config


def write(tmp_path, text: str, name: str = "eval.yaml"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_yaml_with_defaults_and_overrides(tmp_path):
    path = write(tmp_path, "task: classify\nmodels: [base, shop-v1]\ngate: ['f1 >= baseline + 0.02']\n")
    cfg = load_eval_config(path, ["limit=10", "k=3", "judge.model=base"])
    assert cfg.task == "classify" and cfg.models == ["base", "shop-v1"] and cfg.split == "test"
    assert cfg.limit == 10 and cfg.k == 3 and cfg.candidates == 20
    assert (cfg.knn_candidates, cfg.bm25_candidates, cfg.length_normalized, cfg.catalogue) == (10, 10, False, None)
    assert eval_config_from({"task": "classify", "models": ["a"], "split": "real"}).split == "real"
    assert cfg.gate == ["f1 >= baseline + 0.02"]
    assert cfg.judge == JudgeConfig(model="base") and cfg.judge.rubric_text() is None
    assert cfg.columns == ["base", "shop-v1"]


def test_flags_override_the_file(tmp_path):
    path = write(tmp_path, "task: qa\nmodels: [a]\nsplit: validation\n")
    cfg = load_eval_config(path, [], base={"models": ["b", "c"], "split": "test"})
    assert cfg.models == ["b", "c"] and cfg.split == "test" and cfg.task == "qa"
    assert load_eval_config(None, [], base={"task": "extract", "models": ["m"]}).task == "extract"


def test_unknown_key_names_the_file_and_the_key(tmp_path):
    path = write(tmp_path, "task: classify\nmodels: [a]\ntemperature: 0.7\n")
    with pytest.raises(EvalConfigError) as err:
        load_eval_config(path)
    message = str(err.value)
    assert str(path) in message and "temperature" in message and "unknown key" in message
    with pytest.raises(EvalConfigError, match=r"judge\.style: unknown key"):
        load_eval_config(write(tmp_path, "task: qa\nmodels: [a]\njudge: {model: a, style: x}\n", "j.yaml"))


@pytest.mark.parametrize("data, message", [
    ({"task": "translate", "models": ["a"]}, "task: Input should be"),
    ({"task": "classify"}, "needs at least one model"),
    ({"task": "classify", "models": ["a", "a"]}, "a appears twice"),
    ({"task": "classify", "models": ["a"], "split": "dev"}, "split 'dev': the shipped data has train, validation"),
    ({"task": "classify", "models": ["a"], "split": "dev set", "data": "mine.jsonl"}, "split: String should match"),
    ({"task": "classify", "models": ["a"], "limit": 0}, "limit"),
    ({"task": "qa", "models": ["a"], "attributes": ["Color"]}, "for task extract only"),
    ({"task": "qa", "models": ["a"], "taxonomy": "t.txt"}, "for task classify only"),
    ({"task": "qa", "models": ["a"], "catalogue": "products.jsonl"}, "`catalogue` is for task classify only"),
    ({"task": "extract", "models": ["a"], "split": "real"}, "split `real`"),
    ({"task": "classify", "models": ["a"], "candidates": 0, "knn_candidates": 0, "bm25_candidates": 0}, "all 0"),
    ({"task": "classify", "models": ["a"], "knn_candidates": -1}, "knn_candidates"),
    ({"task": "qa", "models": ["a", " "]}, "must not be empty"),
    ({"task": "qa", "models": ["a"], "gate": ["f1 >= baseline +"]}, "gate: gate 'f1 >= baseline +': it ends too early"),
    ({"task": "qa", "models": ["a"], "gate": ["f1 baseline"]}, "gate: gate 'f1 baseline'"),
])
def test_bad_combinations_are_refused(data, message):
    with pytest.raises(EvalConfigError) as err:
        eval_config_from(data, "flags")
    assert message in str(err.value) and str(err.value).startswith("flags: ")


def test_a_data_file_may_name_its_own_splits():
    assert eval_config_from({"task": "classify", "models": ["a"], "split": "holdout-2026", "data": "mine.jsonl"},
                            "flags").split == "holdout-2026"


def test_retrieval_defaults_to_the_sample_collection_and_three_modes():
    cfg = eval_config_from({"task": "retrieval", "gate": ["recall@5 >= baseline"]})
    assert cfg.collection is None and cfg.modes == ["bm25", "dense", "hybrid"] and cfg.columns == cfg.modes
    assert cfg.models == [] and cfg.rerank is None


def test_predictions_files_are_columns_named_by_their_stem():
    cfg = EvalConfig(task="classify", models=["base"], predictions=["/x/mine.jsonl"])
    assert cfg.columns == ["base", "mine"]
    with pytest.raises(ValueError, match="base appears twice"):
        EvalConfig(task="classify", models=["base"], predictions=["/x/base.jsonl"])


def test_rubric_from_a_file_or_inline(tmp_path):
    rubric = tmp_path / "rubric.txt"
    rubric.write_text("5: perfect\n1: useless\n", encoding="utf-8")
    assert JudgeConfig(model="m", rubric=str(rubric)).rubric_text() == "5: perfect\n1: useless\n"
    assert JudgeConfig(model="m", rubric="Score 5 when right.").rubric_text() == "Score 5 when right."


def test_missing_or_broken_file(tmp_path):
    with pytest.raises(EvalConfigError, match="Cannot read eval config"):
        load_eval_config(tmp_path / "nope.yaml")
    with pytest.raises(EvalConfigError, match="not valid YAML"):
        load_eval_config(write(tmp_path, "task: [classify\n"))
    with pytest.raises(EvalConfigError, match="top level must be a mapping"):
        load_eval_config(write(tmp_path, "- classify\n"))


def test_a_split_the_file_lacks_is_refused_naming_the_splits_it_has():
    from types import SimpleNamespace

    from tunelab.eval.tasks import select_split

    rows = [SimpleNamespace(split="holdout"), SimpleNamespace(split=None), SimpleNamespace(split="holdout")]
    assert select_split(rows, "holdout", None, "mine.jsonl") == [rows[0], rows[2]]
    assert select_split(rows, "test", None, "mine.jsonl") == [rows[1]]  # no split field: test
    with pytest.raises(ValueError, match=r"mine.jsonl has no records of split 'train' \(its splits: holdout, test\)"):
        select_split(rows, "train", None, "mine.jsonl")
