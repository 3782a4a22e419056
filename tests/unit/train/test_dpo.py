"""DPO on the tiny model: log 2 at the first step (policy = reference), reproducible curves, reward
metrics, response-only labels, packed log-probs equal to one-sequence-at-a-time ones, and DPO on
top of an SFT adapter (trained further, reference = base + that adapter, parent recorded)."""

import json
import math

import pytest
import torch

from tunelab.adapters.registry import AdapterRegistry
from tunelab.data.records import ChatRecord, PreferenceRecord, assistant, system, user
from tunelab.train import parse_config, run_recipe
from tunelab.train.dpo import collate_pairs, dpo_loss, sequence_logps, tokenize_pairs, tokenize_response
from tunelab.train.runs import RunRecorder
from tunelab.train.tokenize import IGNORE

PAIRS = [
    {"prompt": f"Which category fits: {t}?", "chosen": good, "rejected": bad}
    for t, good, bad in [
        ("Wireless earbuds", "Electronics", "Food"), ("Running shoes", "Apparel", "Kitchen"),
        ("Green tea", "Food", "Electronics"), ("Water bottle", "Kitchen", "Apparel"),
        ("Noise cancelling headphones", "Electronics", "Kitchen"), ("Trail shoes", "Apparel", "Food"),
        ("Black tea", "Food", "Apparel"), ("Chef knife", "Kitchen", "Electronics"),
    ]
] * 2


@pytest.fixture
def pref_file(tmp_path):
    path = tmp_path / "pairs.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in PAIRS))
    return path


def config(pref_file, **kw):
    base = {"recipe": "dpo", "dataset": str(pref_file), "base_model": "tiny", "max_steps": 4, "batch_size": 4,
            "learning_rate": 5e-3, "val_fraction": 0.25, "seed": 5, "precision": "fp32",
            "lora": {"r": 4, "alpha": 8}}
    return parse_config({k: v for k, v in {**base, **kw}.items() if v is not None})


def test_first_step_loss_is_log2_reproducible_and_registered(settings, store, tiny, pref_file):
    a = run_recipe(config(pref_file, adapter_name="dpo-a", eval_every=2), settings, store)
    b = run_recipe(config(pref_file), settings, store)
    curve_a = RunRecorder(store, a["run_id"]).metrics("train_loss")
    curve_b = RunRecorder(store, b["run_id"]).metrics("train_loss")
    assert len(curve_a) == 4 and curve_a == curve_b
    assert abs(curve_a[0][1] - math.log(2)) < 1e-5  # LoRA B starts at zero: policy == reference
    assert curve_a[-1][1] < curve_a[0][1]
    m = a["metrics"]
    assert 0.0 <= m["eval_reward_accuracy"] <= 1.0 and math.isfinite(m["eval_reward_margin"])
    assert m["eval_loss"] == b["metrics"]["eval_loss"]
    assert [s for s, _ in RunRecorder(store, a["run_id"]).metrics("eval_reward_accuracy")] == [2, 4]
    info = AdapterRegistry(store, settings).get("dpo-a")
    assert info.kind == "lora" and info.base_model == "tiny" and info.run_id == a["run_id"]
    assert info.lineage["recipe"] == "dpo" and info.parents == [] and info.lineage["config"]["beta"] == 0.1
    assert RunRecorder(store, a["run_id"]).get().status == "completed"


def test_labels_cover_the_response_only(tiny):
    tok = tiny.tokenizer
    prompt = [system("Be brief."), user("Tea?"), assistant("Which one?"), user("Green tea")]
    ex = tokenize_response(tok, prompt, [assistant("Food")], template=None, max_len=512)
    labelled = tok.decode([t for t, lab in zip(ex.input_ids, ex.labels) if lab != IGNORE])
    assert labelled == "Food<|im_end|>\n"  # not the earlier assistant turn "Which one?"
    assert ex.input_ids == tok(tok.apply_chat_template(
        [{"role": m.role, "content": m.content} for m in prompt] + [{"role": "assistant", "content": "Food"}],
        tokenize=False), add_special_tokens=False)["input_ids"]


def test_pairs_truncated_past_the_response_are_dropped(tiny):
    rec = PreferenceRecord(prompt=[user("long " * 200)], chosen=[assistant("a")], rejected=[assistant("b")])
    pairs, dropped = tokenize_pairs(tiny.tokenizer, [rec], template=None, max_len=32)
    assert pairs == [] and dropped == 1
    with pytest.raises(ValueError, match="DPO trains on preference records"):
        tokenize_pairs(tiny.tokenizer, [ChatRecord(messages=[user("x"), assistant("y")])], template=None, max_len=32)


def test_packed_logps_equal_one_sequence_at_a_time(tiny):
    tok, model = tiny.tokenizer, tiny.model
    recs = [PreferenceRecord(prompt=[user(p["prompt"])], chosen=[assistant(p["chosen"])],
                             rejected=[assistant(p["rejected"])]) for p in PAIRS[:3]]
    pairs, _ = tokenize_pairs(tok, recs, template=None, max_len=512)
    with torch.no_grad():
        packed = sequence_logps(model, collate_pairs(pairs).seqs)
        expected = []
        for ex in [p.chosen for p in pairs] + [p.rejected for p in pairs]:
            logp = torch.log_softmax(model(torch.tensor([ex.input_ids])).logits[0, :-1].float(), -1)
            expected.append(sum(logp[t, y] for t, y in enumerate(ex.labels[1:]) if y != IGNORE))
    assert torch.allclose(packed, torch.stack(expected), atol=1e-4)


def test_dpo_loss_formula():
    losses, rc, rr = dpo_loss(torch.tensor([-1.0, -2.0]), torch.tensor([-3.0, -1.0]),
                              torch.tensor([-2.0, -2.0]), torch.tensor([-2.0, -2.0]), beta=0.5)
    # pair 0: r_c = 0.5, r_r = -0.5 -> -log σ(1); pair 1: r_c = 0, r_r = 0.5 -> -log σ(-0.5)
    assert torch.allclose(rc, torch.tensor([0.5, 0.0])) and torch.allclose(rr, torch.tensor([-0.5, 0.5]))
    assert torch.allclose(losses, torch.tensor([math.log1p(math.exp(-1.0)), math.log1p(math.exp(0.5))]))


def test_dpo_on_top_of_sft_adapter_records_parent_and_starts_at_log2(settings, store, tiny, pref_file, tmp_path):
    from peft import PeftModel

    sft_data = tmp_path / "sft.jsonl"
    sft_data.write_text("\n".join(json.dumps({"instruction": p["prompt"], "output": p["chosen"]}) for p in PAIRS))
    run_recipe(parse_config({"dataset": str(sft_data), "base_model": "tiny", "max_steps": 3, "learning_rate": 1e-2,
                             "adapter_name": "sft-1", "val_fraction": 0, "seed": 1, "lora": {"r": 4}}),
               settings, store)
    registry = AdapterRegistry(store, settings)
    sft_path = registry.get("sft-1").path
    result = run_recipe(config(pref_file, sft_adapter="sft-1", adapter_name="dpo-on-sft", max_steps=2,
                               lora=None), settings, store)
    curve = RunRecorder(store, result["run_id"]).metrics("train_loss")
    assert abs(curve[0][1] - math.log(2)) < 1e-5  # policy starts as the SFT adapter, which is the reference
    info = registry.get("dpo-on-sft")
    assert info.parents == ["sft-1"] and info.lineage["recipe"] == "dpo"
    # one plain PEFT adapter on the base (the SFT adapter trained further), not a folder per adapter
    ids = torch.tensor([tiny.tokenizer("Green tea")["input_ids"]])
    with torch.no_grad():
        base = tiny.model(ids).logits
        sft = PeftModel.from_pretrained(tiny.model, sft_path, adapter_name="sft")
        sft_logits = sft(ids).logits
        sft.load_adapter(info.path, adapter_name="dpo")
        sft.set_adapter("dpo")
        dpo_logits = sft(ids).logits
    assert not torch.allclose(sft_logits, base) and not torch.allclose(dpo_logits, sft_logits)


def test_non_preference_data_is_refused_before_loading_a_model(settings, store, tmp_path):
    chat = tmp_path / "chat.jsonl"
    chat.write_text('{"instruction": "Category of tea?", "output": "Food"}\n')
    with pytest.raises(ValueError, match="holds chat records; DPO trains on preference pairs"):
        run_recipe(config(chat, base_model="not-loaded"), settings, store)


def test_sft_adapter_on_another_base_is_refused(settings, store, tiny, pref_file, tmp_path):
    from tunelab.adapters.errors import AdapterError

    with pytest.raises(AdapterError, match="Unknown adapter 'nope'"):
        run_recipe(config(pref_file, sft_adapter="nope"), settings, store)
    folder = tmp_path / "fake"
    folder.mkdir()
    (folder / "adapter_config.json").write_text("{}")
    AdapterRegistry(store, settings).register("other", kind="lora", path=folder, base_model="smollm2-135m-instruct")
    with pytest.raises(AdapterError, match="set base_model: smollm2-135m-instruct"):
        run_recipe(config(pref_file, sft_adapter="other"), settings, store)
