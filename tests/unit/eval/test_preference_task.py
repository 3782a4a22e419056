"""The preference eval task: its metrics on hand-computed cases, and a run on the tiny model and a LoRA
adapter of it whose per-pair scores equal the mean log-probability per token of each answer computed
here with one plain forward pass, gated against the baseline."""

from __future__ import annotations

import asyncio
import json
import math

import pytest
import torch

from tunelab.adapters import AdapterRegistry
from tunelab.eval.config import EvalConfig
from tunelab.eval.metrics import preference_accuracy, preference_margin
from tunelab.eval.runner import run_eval
from tunelab.eval.runs import get_run
from tunelab.eval.tasks import get_task
from tunelab.models.catalogue import Catalogue
from tunelab.models.loader import load_model
from tunelab.tasks.model import EngineTaskModel

PAIRS = [
    {"prompt": [{"role": "user", "content": "Which category fits wireless earbuds?"}],
     "chosen": "Electronics", "rejected": "Food and drinks, mostly tea"},
    {"prompt": "What is the capital of France?", "chosen": "The capital of France is Paris.", "rejected": "Tea."},
    {"prompt": "Describe the water bottle.", "chosen": "Stainless steel, 750 ml.", "rejected": "Shoes, size 42."},
]


def test_metrics_on_hand_computed_cases():
    chosen, rejected = [-1.0, -2.0, -0.5, None, -3.0], [-2.0, -1.0, -0.5, -1.0, float("nan")]
    assert preference_accuracy(chosen, rejected) == 1 / 5  # only the first; a tie and missing scores do not count
    assert preference_margin(chosen, rejected) == pytest.approx((1.0 - 1.0 + 0.0) / 3)
    assert math.isnan(preference_margin([None], [-1.0]))
    with pytest.raises(ValueError, match="pair up"):
        preference_accuracy([1.0], [])


def _mean_logp(model, prompt_ids: list[int], option_ids: list[int]) -> float:
    """Mean over the option's tokens of log p(token | everything before it), one full forward pass."""
    ids = torch.tensor([prompt_ids + option_ids])
    with torch.no_grad():
        logp = torch.log_softmax(model(input_ids=ids).logits[0].float(), dim=-1)
    start = len(prompt_ids)
    return float(sum(logp[start + j - 1, t] for j, t in enumerate(option_ids)) / len(option_ids))


def test_a_run_scores_each_pair_by_mean_log_probability(settings, store, tiny_model_dir, tmp_path):
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    Catalogue(store).add("tiny", str(tiny_model_dir))
    torch.manual_seed(3)
    lora = tmp_path / "lora"
    cfg = LoraConfig(r=4, lora_alpha=16, target_modules=["q_proj", "v_proj"], init_lora_weights=False)
    get_peft_model(AutoModelForCausalLM.from_pretrained(tiny_model_dir), cfg).save_pretrained(lora)
    AdapterRegistry(store, settings).register("tiny-pref", kind="lora", path=lora, base_model="tiny")
    data = tmp_path / "pairs.jsonl"
    data.write_text("".join(json.dumps(p) + "\n" for p in PAIRS))

    config = EvalConfig(task="preference", models=["tiny", "tiny-pref"], data=str(data), precision="fp32",
                        gate=["preference_accuracy >= baseline", "preference_margin > baseline.preference_margin"])
    result = asyncio.run(run_eval(config, settings, store))

    loaded = load_model("tiny", settings, store=store)
    helper = EngineTaskModel(None, loaded)  # only its tokenisation of prompt and replies
    expected = []
    for ex in get_task("preference").load_examples(config):
        messages = [{"role": m.role, "content": m.content} for m in ex.record.prompt]
        prompt_text = loaded.chat_prompt(messages)
        prompt = helper.prompt_ids(messages)
        expected.append([_mean_logp(loaded.model, prompt, helper.option_ids(messages, prompt_text, answer))
                         for answer in (ex.reference["chosen"], ex.reference["rejected"])])
    base = [ex["outputs"]["tiny"] for ex in result.examples]
    got = [v for o in base for v in (o["chosen_logp"], o["rejected_logp"])]
    assert got == pytest.approx([v for pair in expected for v in pair], abs=1e-4)
    assert result.metrics["tiny"]["preference_accuracy"] == sum(c > r for c, r in expected) / 3
    assert result.metrics["tiny"]["preference_margin"] == pytest.approx(sum(c - r for c, r in expected) / 3, abs=1e-4)

    adapted = [ex["outputs"]["tiny-pref"] for ex in result.examples]
    assert [o["chosen_logp"] for o in adapted] != pytest.approx([o["chosen_logp"] for o in base], abs=1e-3)
    assert result.metrics["tiny-pref"]["preference_accuracy"] == sum(o["prefers_chosen"] for o in adapted) / 3
    gates = {g["gate"]: g for g in result.gates}
    margins = (result.metrics["tiny-pref"]["preference_margin"], result.metrics["tiny"]["preference_margin"])
    assert gates["preference_margin > baseline.preference_margin"]["passed"] is (margins[0] > margins[1])
    assert gates["preference_accuracy >= baseline"]["model"] == "tiny-pref"
    stored = get_run(store, result.run_id)
    assert stored.status == "completed" and stored.models == ["tiny", "tiny-pref"]
    assert stored.params["gates"] == result.gates


def test_preference_needs_pairs(tmp_path):
    task = get_task("preference")
    with pytest.raises(ValueError, match="needs `data`"):
        task.load_examples(EvalConfig(task="preference", models=["m"]))
    chat = tmp_path / "chat.jsonl"
    chat.write_text(json.dumps({"messages": [{"role": "user", "content": "hi"},
                                             {"role": "assistant", "content": "yo"}]}) + "\n")
    with pytest.raises(ValueError, match="holds chat records"):
        task.load_examples(EvalConfig(task="preference", models=["m"], data=str(chat)))
