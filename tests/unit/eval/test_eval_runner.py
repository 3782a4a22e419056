"""The eval runner on the tiny model and a LoRA adapter of it, over a few sample examples: the
metrics it reports are recomputed here from its per-example outputs, independently (scikit-learn,
hand-written ROUGE-L / BERTScore / slot counting), and prediction files are matched by id with
errors that name the line and the record."""

from __future__ import annotations

import asyncio
import json
import re

import numpy as np
import pytest
from sklearn.metrics import accuracy_score, f1_score

from tunelab.adapters import AdapterRegistry
from tunelab.data.errors import DatasetError
from tunelab.eval.config import EvalConfig
from tunelab.eval.gate import GateError
from tunelab.eval.predictions import evaluate_predictions
from tunelab.eval.runner import run_eval
from tunelab.eval.runs import get_run, list_runs
from tunelab.eval.tasks import get_task
from tunelab.models.catalogue import Catalogue
from tunelab.tasks.ecommerce.datasets import load_sample_attributes, load_sample_products, packaged_taxonomy


@pytest.fixture(scope="module")
def taxonomy_file(tmp_path_factory):
    """The packaged taxonomy cut down to the sample's categories and their ancestors (196 paths), so
    the category index embeds in a second instead of a minute."""
    tax, keep = packaged_taxonomy(), set()
    for p in load_sample_products():
        keep.update(tax.ancestors(p.category_id, include_self=True))
    path = tmp_path_factory.mktemp("taxonomy") / "sample-taxonomy.txt"
    path.write_text(f"# Google_Product_Taxonomy_Version: {tax.version}\n"
                    + "".join(f"{c.id} - {c.full_path}\n" for c in tax if c.id in keep), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def lora_dir(tmp_path_factory, tiny_model_dir):
    """A LoRA adapter of the tiny model with random non-zero A and B (made with PEFT directly)."""
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    torch.manual_seed(7)
    out = tmp_path_factory.mktemp("lora") / "shop"
    base = AutoModelForCausalLM.from_pretrained(tiny_model_dir)
    cfg = LoraConfig(r=4, lora_alpha=8, target_modules=["q_proj", "v_proj"], init_lora_weights=False)
    get_peft_model(base, cfg).save_pretrained(out)
    return out


@pytest.fixture
def models(settings, store, tiny_model_dir, lora_dir):
    """'tiny' in the catalogue and its adapter 'tiny-shop' in the registry."""
    Catalogue(store).add("tiny", str(tiny_model_dir))
    AdapterRegistry(store, settings).register("tiny-shop", kind="lora", path=lora_dir, base_model="tiny")
    return ["tiny", "tiny-shop"]


def run(config: EvalConfig, settings, store, progress=None):
    return asyncio.run(asyncio.wait_for(run_eval(config, settings, store, progress=progress), 300))


# --- independent reference computations -------------------------------------------------------------


def path_prefixes(path: str | None) -> set[str]:
    """'A > B > C' -> {'A', 'A > B', 'A > B > C'}: the category and its ancestors, from the path text."""
    if not path:
        return set()
    parts = path.split(" > ")
    return {" > ".join(parts[:n]) for n in range(1, len(parts) + 1)}


def hierarchical_f1_by_paths(pred_paths, ref_paths) -> float:
    overlap = sum(len(path_prefixes(p) & path_prefixes(r)) for p, r in zip(pred_paths, ref_paths))
    hp = overlap / sum(len(path_prefixes(p)) for p in pred_paths)
    hr = overlap / sum(len(path_prefixes(r)) for r in ref_paths)
    return 2 * hp * hr / (hp + hr) if hp + hr else 0.0


def lcs(a: list, b: list) -> int:
    table = [[0] * (len(b) + 1) for _ in range(len(a) + 1)]
    for i, x in enumerate(a):
        for j, y in enumerate(b):
            table[i + 1][j + 1] = table[i][j] + 1 if x == y else max(table[i][j + 1], table[i + 1][j])
    return table[-1][-1]


def rouge_l_f(pred: str, ref: str) -> float:
    p, r = re.findall(r"[a-z0-9]+", pred.lower()), re.findall(r"[a-z0-9]+", ref.lower())
    n = lcs(p, r)
    if not n:
        return 0.0
    precision, recall = n / len(p), n / len(r)
    return 2 * precision * recall / (precision + recall)


# --- classify --------------------------------------------------------------------------------------


def test_classify_base_and_adapter_metrics_match_sklearn(settings, store, models, taxonomy_file, tmp_path):
    calls = []
    config = EvalConfig(task="classify", models=models, limit=6, k=5, candidates=8, taxonomy=str(taxonomy_file),
                        gate=["accuracy >= baseline - 1"], out=str(tmp_path / "report"))
    result = run(config, settings, store, progress=lambda done, total: calls.append((done, total)))

    assert result.models == ["tiny", "tiny-shop"] and result.task == "classify" and result.split == "test"
    assert set(get_task("classify").metric_names(config)) == set(result.metrics["tiny"])
    assert [e["id"] for e in result.examples] == [p.id for p in load_sample_products("test")[:6]]
    assert calls[0] == (0, 12) and calls[-1] == (12, 12) and len(calls) == 13  # one tick per model×example

    for model in models:
        outs = [e["outputs"][model] for e in result.examples]
        y_true = [e["reference"]["id"] for e in result.examples]
        y_pred = [o["id"] if o["id"] is not None else -1 for o in outs]
        m = result.metrics[model]
        assert m["accuracy"] == pytest.approx(accuracy_score(y_true, y_pred))
        assert m["f1"] == pytest.approx(f1_score(y_true, y_pred, average="macro", zero_division=0))
        assert m["weighted_f1"] == pytest.approx(f1_score(y_true, y_pred, average="weighted", zero_division=0))
        assert m["hierarchical_f1"] == pytest.approx(
            hierarchical_f1_by_paths([o["path"] for o in outs], [e["reference"]["path"] for e in result.examples]))
        branches = [o["path"].split(" > ")[0] == e["reference"]["path"].split(" > ")[0]
                    for o, e in zip(outs, result.examples)]
        assert m["top_level_accuracy"] == pytest.approx(np.mean(branches))
        hits = [ref in [t["id"] for t in o["top_k"]][:5] for ref, o in zip(y_true, outs)]
        assert m["top5_accuracy"] == pytest.approx(np.mean(hits))
        # candidate recall, per source (the defaults: 8 by embedding, 10 by knn, 10 by BM25) and of the union
        for source in ("embedding", "knn", "bm25", "union"):
            name = "candidate_recall" if source == "union" else f"candidate_recall_{source}"
            assert m[name] == pytest.approx(np.mean([ref in o["candidates"][source] for ref, o in zip(y_true, outs)]))
        for o in outs:
            c = o["candidates"]
            assert len(c["embedding"]) == 8 and 1 <= len(c["knn"]) <= 10 and len(c["bm25"]) <= 10
            assert c["union"] == list(dict.fromkeys(c["embedding"] + c["knn"] + c["bm25"]))
        assert m["candidate_recall"] >= max(m["candidate_recall_embedding"], m["candidate_recall_knn"])
        for o, e in zip(outs, result.examples):
            assert len(o["top_k"]) == 5 and o["top_k"][0]["id"] == o["id"] and o["method"] == "hybrid"
            scores = [t["score"] for t in o["top_k"]]
            assert scores == sorted(scores, reverse=True)
            assert e["scores"][model]["correct"] == float(o["id"] == e["reference"]["id"])

    # the adapter really ran: its candidate probabilities differ from the base model's
    base = [t["score"] for e in result.examples for t in e["outputs"]["tiny"]["top_k"]]
    adapted = [t["score"] for e in result.examples for t in e["outputs"]["tiny-shop"]["top_k"]]
    assert base != adapted

    assert [(g["model"], g["passed"]) for g in result.gates] == [("tiny-shop", True)]
    stored = get_run(store, result.run_id)
    assert stored.status == "completed" and stored.report_dir == str(tmp_path / "report")
    assert stored.metrics == result.metrics and stored.models == models
    saved = json.loads((tmp_path / "report" / "report.json").read_text())
    assert saved["metrics"] == result.metrics and saved["run_id"] == result.run_id
    lines = (tmp_path / "report" / "examples.jsonl").read_text().splitlines()
    assert [json.loads(line)["id"] for line in lines] == [e["id"] for e in result.examples]
    assert result.breakdowns["per_class"]["support"] == [1] * 6  # six products, six categories


# --- extract ---------------------------------------------------------------------------------------


def perturbed_predictions(examples) -> list[dict]:
    """Hand-made predictions: exact; upper-cased (a slot match, not an exact one); all null; the first
    value wrong; text that is not JSON."""
    out = []
    for i, ex in enumerate(examples):
        ref = ex.reference
        if i == 0:
            pred = dict(ref)
        elif i == 1:
            pred = {k: v.upper() if v else v for k, v in ref.items()}
        elif i == 2:
            pred = {k: None for k in ref}
        elif i == 3:
            first = next(iter(ref))
            pred = {**ref, first: "wrong"}
        else:
            pred = "not json {"
        out.append({"id": ex.id, "prediction": pred})
    return out


def test_extract_model_and_prediction_file_against_hand_counts(settings, store, models, tmp_path):
    cfg = EvalConfig(task="extract", models=["tiny"], limit=5)
    examples = get_task("extract").load_examples(cfg)
    preds = perturbed_predictions(examples)
    file = tmp_path / "handmade.jsonl"
    file.write_text("".join(json.dumps(p) + "\n" for p in reversed(preds)))  # any order: matched by id
    config = EvalConfig(task="extract", models=["tiny"], predictions=[str(file)], limit=5, out=str(tmp_path / "r"))
    result = run(config, settings, store)
    assert result.models == ["tiny", "handmade"]

    refs = [e["reference"] for e in result.examples]
    assert refs == [{a.key: a.value for a in r.attributes} for r in load_sample_attributes("test")[:5]]
    assert result.metrics["tiny"]["valid_json"] == 1.0  # constrained decoding: always the schema's JSON
    for e in result.examples:
        assert set(e["outputs"]["tiny"]["values"]) == set(e["reference"])

    for model in ("tiny", "handmade"):
        tp = fp = fn = 0
        token_scores, exact = [], []
        for e in result.examples:
            out, ref = e["outputs"][model], e["reference"]
            values = out["values"]
            exact.append(out["valid"] and values == ref)
            for key, r in ref.items():
                p = values.get(key)
                norm_p, norm_r = (p.lower() if isinstance(p, str) else p), (r.lower() if isinstance(r, str) else r)
                if p is not None and r is not None and norm_p == norm_r:
                    tp += 1
                else:
                    fp += p is not None
                    fn += r is not None
                if r is not None:
                    pt, rt = (p or "").lower().split(), r.lower().split()
                    common = sum(min(pt.count(t), rt.count(t)) for t in set(pt))
                    token_scores.append(0.0 if not common else 2 * common / (len(pt) + len(rt)))
        precision, recall = (tp / (tp + fp) if tp + fp else 0.0), (tp / (tp + fn) if tp + fn else 0.0)
        m = result.metrics[model]
        assert m["precision"] == pytest.approx(precision) and m["recall"] == pytest.approx(recall)
        assert m["f1"] == pytest.approx(2 * precision * recall / (precision + recall) if precision + recall else 0.0)
        assert m["exact_match"] == pytest.approx(np.mean(exact))
        assert m["token_f1"] == pytest.approx(np.mean(token_scores))

    hand = result.metrics["handmade"]
    assert hand["valid_json"] == pytest.approx(4 / 5) and hand["exact_match"] == pytest.approx(1 / 5)
    assert hand["precision"] > 0.5 and hand["recall"] > 0.4  # the hand-made file gets most slots right
    assert result.breakdowns["per_attribute"]["labels"]


def test_a_model_failure_on_one_example_is_recorded_not_raised(settings, store, models, tmp_path):
    long_text = "Stainless steel water bottle keeps drinks cold. " * 700  # far past the tiny model's 4,096 positions
    rows = [{"id": "short", "category": "Bottles", "paragraphs": [{"text": "Blue bottle, 750 ml", "source": "title"}],
             "attributes": [{"key": "Color", "evidences": [{"value": "Blue", "pid": 0, "begin": 0, "end": 4}]}]},
            {"id": "long", "category": "Bottles", "paragraphs": [{"text": long_text, "source": "description"}],
             "attributes": [{"key": "Color", "evidences": []}]}]
    data = tmp_path / "mave.jsonl"
    data.write_text("".join(json.dumps(r) + "\n" for r in rows))
    result = run(EvalConfig(task="extract", models=["tiny"], data=str(data), out=str(tmp_path / "r")), settings, store)
    short, long = result.examples
    assert "error" not in short["outputs"]["tiny"]
    assert "Shorten the input" in long["outputs"]["tiny"]["error"]
    assert result.params["errors"] == {"tiny": 1} and result.metrics["tiny"]["valid_json"] == 0.5


# --- qa, with a judge --------------------------------------------------------------------------------


def test_qa_metrics_and_judge_recomputed(settings, store, models, tmp_path):
    config = EvalConfig(task="qa", models=models, limit=4, judge={"model": "tiny", "max_tokens": 32},
                        out=str(tmp_path / "r"))
    result = run(config, settings, store)
    from tunelab.models.embeddings import token_embedder

    embed = token_embedder()
    answerable = [e for e in result.examples if e["reference"]["answerable"]]
    assert 0 < len(answerable) < 4  # the first four test questions hold both kinds
    for model in models:
        outs = [e["outputs"][model] for e in result.examples]
        m = result.metrics[model]
        assert m["f1"] == pytest.approx(f1_score([e["reference"]["answerable"] for e in result.examples],
                                                 [o["answerable"] for o in outs], zero_division=0))
        rouge = [max(rouge_l_f(e["outputs"][model]["answer"], a) for a in e["reference"]["answers"]) for e in answerable]
        assert m["rouge_l"] == pytest.approx(np.mean(rouge))
        bert = []
        for e in answerable:
            c, r = embed([e["outputs"][model]["answer"], e["reference"]["answer"]])
            if len(c) == 0 or len(r) == 0:
                bert.append(0.0)
                continue
            c = c / np.linalg.norm(c, axis=1, keepdims=True)
            r = r / np.linalg.norm(r, axis=1, keepdims=True)
            sim = c @ r.T
            p, rec = sim.max(axis=1).mean(), sim.max(axis=0).mean()
            bert.append(2 * p * rec / (p + rec))
        assert m["bertscore"] == pytest.approx(np.mean(bert), abs=1e-5)
        verdicts = [o["judge"] for o in outs]
        assert all(v["score"] in range(1, 6) and v["error"] is None for v in verdicts)
        assert m["judge"] == pytest.approx(np.mean([v["score"] for v in verdicts])) and m["judge_invalid"] == 0
    assert result.params["judge_model"] == "tiny" and "review snippets" in result.params["judge_rubric"]
    assert "faithfulness first" in result.params["judge_rubric"]
    qa = get_task("qa")
    ex = qa.load_examples(config)[0]
    _, reference, _ = qa.judge_view(ex, {"text": "answerable: x", "citations": [1, 99]})
    assert f"[1] {ex.record.review_snippets[0]}" in reference and "[99]" not in reference  # cited, in range
    assert "(none)" in qa.judge_view(ex, {"text": "unanswerable: x", "citations": []})[1]
    assert set(result.breakdowns["answerability"]["labels"]) == {"answerable", "unanswerable"}


# --- prediction files and bad input --------------------------------------------------------------------


@pytest.fixture
def classify_refs(settings, taxonomy_file):
    config = EvalConfig(task="classify", predictions=["x.jsonl"], limit=5, taxonomy=str(taxonomy_file))
    module = get_task("classify")
    return module.load_examples(config), asyncio.run(module.prepare(config, settings, with_models=False))


def write_lines(path, rows):
    path.write_text("".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in rows))
    return path


def test_prediction_file_scored_like_sklearn(classify_refs, tmp_path):
    examples, ctx = classify_refs
    wrong = examples[0].reference["id"]
    rows = [{"id": e.id, "prediction": e.reference["id"] if i % 2 == 0 else wrong} for i, e in enumerate(examples)]
    rows[2]["prediction"] = examples[2].reference["path"]  # a full path is accepted too
    result = evaluate_predictions("classify", write_lines(tmp_path / "mine.jsonl", rows), examples, ctx)
    y_true = [e.reference["id"] for e in examples]
    y_pred = [e.reference["id"] if i % 2 == 0 else wrong for i, e in enumerate(examples)]
    assert result.models == ["mine"]
    assert result.metrics["mine"]["accuracy"] == pytest.approx(accuracy_score(y_true, y_pred))
    assert result.metrics["mine"]["f1"] == pytest.approx(f1_score(y_true, y_pred, average="macro", zero_division=0))


def test_prediction_file_mismatches_name_the_record(classify_refs, tmp_path):
    examples, ctx = classify_refs
    good = [{"id": e.id, "prediction": e.reference["id"]} for e in examples]
    cases = [
        (good[:-1], f"4 predictions for 5 references; the first reference without a prediction is id '{examples[-1].id}'"),
        (good[:2] + [{"id": "syn-99999", "prediction": 1}] + good[3:], "line 3: field 'id': id 'syn-99999' is not among"),
        (good + [good[1]], f"line 6: field 'id': id '{examples[1].id}' has a second prediction"),
        (good[:1] + ["{not json"] + good[2:], "line 2: not valid JSON"),
        (good[:3] + [{"id": examples[3].id}] + good[4:], "line 4: field 'prediction': missing"),
        ([{"id": examples[0].id, "prediction": "Shoes > Boots > Nope"}] + good[1:],
         f"line 1: field 'prediction': 'Shoes > Boots > Nope' is not a category id or a full path of the taxonomy (id '{examples[0].id}')"),
    ]
    for rows, message in cases:
        with pytest.raises(DatasetError) as err:
            evaluate_predictions("classify", write_lines(tmp_path / "p.jsonl", rows), examples, ctx)
        assert message in str(err.value) and "p.jsonl" in str(err.value)


def test_bad_input_is_refused_before_any_model_loads_or_run_is_stored(settings, store, taxonomy_file, tmp_path):
    with pytest.raises(GateError, match="bleu.*its metrics are: accuracy, top_level_accuracy, f1"):
        run(EvalConfig(task="classify", models=["not-loaded"], gate=["bleu > 0"]), settings, store)
    short = write_lines(tmp_path / "short.jsonl", [{"id": "syn-00002", "prediction": 209}])
    with pytest.raises(DatasetError, match="1 predictions for 3 references"):
        run(EvalConfig(task="classify", predictions=[str(short)], limit=3, taxonomy=str(taxonomy_file)), settings, store)
    assert list_runs(store) == []
