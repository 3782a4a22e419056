"""The training loop's parts against the libraries (cross-entropy, AdamW, the warm-up + cosine schedule,
gradient clipping), and the loop itself: LoRA fine-tuning of the tiny model lowers the held-out
loss, and a seed pins the losses."""

import pytest
import torch
import torch.nn.functional as F

from tunelab.scratch.lora import wrap_lora
from tunelab.scratch.train import (
    IGNORE,
    AdamW,
    TrainConfig,
    clip_grad_norm,
    collate,
    completion_loss,
    encode_example,
    evaluate,
    lr_at,
    train,
)

TRAIN = [("Wireless earbuds", "Electronics"), ("Running shoes", "Apparel"), ("Green tea", "Food"),
         ("Water bottle", "Kitchen"), ("Noise cancelling headphones", "Electronics"), ("Trail shoes", "Apparel"),
         ("Black tea", "Food"), ("Chef knife", "Kitchen")]
HELD_OUT = [("Stainless steel water bottle", "Kitchen"), ("Organic green tea", "Food"),
            ("Men's running shoes", "Apparel"), ("Wireless charging case", "Electronics")]

BEFORE, LAST_TRAIN, LAST_HELD_OUT = 6.0261, 5.1138, 5.1303  # pinned: held-out loss before; losses after 24 steps


def examples(tokenizer, pairs):
    return [encode_example(tokenizer, f"Product: {p}\nCategory:", f" {c}") for p, c in pairs]


def test_examples_count_only_the_completion(tiny_tokenizer):
    [ex] = examples(tiny_tokenizer, [("Green tea", "Food")])
    prompt = tiny_tokenizer("Product: Green tea\nCategory:")["input_ids"]
    assert ex.ids[:len(prompt)] == prompt and ex.labels[:len(prompt)] == [IGNORE] * len(prompt)
    assert ex.labels[len(prompt):] == ex.ids[len(prompt):] and ex.ids[-1] == tiny_tokenizer.eos_token_id
    ids, labels = collate(examples(tiny_tokenizer, TRAIN[:3]), pad_id=0)
    assert ids.shape == labels.shape and (labels[ids == 0] == IGNORE).all()


def test_completion_loss_is_cross_entropy_on_the_shifted_counted_tokens():
    logits = torch.randn(2, 6, 11)
    labels = torch.tensor([[IGNORE, IGNORE, 3, 4, 5, IGNORE], [IGNORE, 1, 2, 3, 4, 10]])
    expected = F.cross_entropy(logits[:, :-1].reshape(-1, 11), labels[:, 1:].reshape(-1), ignore_index=IGNORE)
    torch.testing.assert_close(completion_loss(logits, labels), expected)


def test_adamw_matches_torch():
    torch.manual_seed(0)
    ours_p, theirs_p = torch.nn.Parameter(torch.randn(5, 3)), torch.nn.Parameter(torch.randn(5, 3))
    with torch.no_grad():
        theirs_p.copy_(ours_p)
    ours = AdamW([ours_p], lr=1e-2, weight_decay=0.1)
    theirs = torch.optim.AdamW([theirs_p], lr=1e-2, weight_decay=0.1)
    for step in range(6):
        g = torch.randn(5, 3)
        ours_p.grad, theirs_p.grad = g.clone(), g.clone()
        lr = 1e-2 * (step + 1) / 6  # a changing learning rate, as under a schedule
        for group in theirs.param_groups:
            group["lr"] = lr
        ours.step(lr)
        theirs.step()
    torch.testing.assert_close(ours_p, theirs_p, atol=1e-6, rtol=0)


def test_schedule_matches_transformers_warmup_cosine():
    from transformers import get_cosine_schedule_with_warmup

    opt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=3e-3)
    sched = get_cosine_schedule_with_warmup(opt, num_warmup_steps=4, num_training_steps=20)
    for step in range(20):
        assert lr_at(step, 3e-3, 4, 20) == pytest.approx(opt.param_groups[0]["lr"], rel=1e-12, abs=1e-15)
        opt.step()
        sched.step()


def test_clipping_matches_torch():
    a, b = [torch.nn.Parameter(torch.zeros(4, 4)) for _ in range(2)]
    g = [torch.randn(4, 4) * 5, torch.randn(4, 4)]
    a.grad, b.grad = g[0].clone(), g[1].clone()
    norm = clip_grad_norm([a, b], 1.0)
    a2, b2 = [torch.nn.Parameter(torch.zeros(4, 4)) for _ in range(2)]
    a2.grad, b2.grad = g[0].clone(), g[1].clone()
    assert norm == pytest.approx(float(torch.nn.utils.clip_grad_norm_([a2, b2], 1.0)), rel=1e-6)
    torch.testing.assert_close(a.grad, a2.grad) and torch.testing.assert_close(b.grad, b2.grad)


def fine_tune(model, tokenizer, seed=0, steps=24):
    torch.manual_seed(seed)
    wrap_lora(model, ["q_proj", "v_proj", "up_proj", "down_proj"], r=8, alpha=16, dropout=0.05)
    cfg = TrainConfig(steps=steps, batch_size=4, lr=1e-2, warmup_steps=2, seed=seed, eval_every=8)
    return train(model, examples(tokenizer, TRAIN), cfg, pad_id=tokenizer.pad_token_id,
                 eval_examples=examples(tokenizer, HELD_OUT))


def test_lora_fine_tuning_lowers_held_out_loss_and_is_pinned_by_its_seed(tiny_model_dir, tiny_tokenizer):
    from tunelab.scratch.model import ScratchLlama

    held_out = examples(tiny_tokenizer, HELD_OUT)
    model = ScratchLlama.from_folder(tiny_model_dir)
    before = evaluate(model, held_out, pad_id=tiny_tokenizer.pad_token_id)
    history = fine_tune(model, tiny_tokenizer)
    assert [s for s, _ in history.eval_loss] == [8, 16, 24] and len(history.train_loss) == 24
    losses = [loss for _, loss in history.eval_loss]
    # The random model's output layer (std 0.02, which LoRA leaves alone) caps how sure it can get, so
    # the held-out loss falls from about ln(400) = 6 by about one nat, not to zero.
    assert losses == sorted(losses, reverse=True) and losses[-1] < before - 0.75, (before, losses)
    assert losses[-1] == pytest.approx(evaluate(model, held_out, pad_id=tiny_tokenizer.pad_token_id), abs=1e-6)
    # the seed pins the run: these numbers change only when the model, the data or the loop change
    assert before == pytest.approx(BEFORE, abs=1e-4)
    assert history.train_loss[-1] == pytest.approx(LAST_TRAIN, abs=1e-4)
    assert losses[-1] == pytest.approx(LAST_HELD_OUT, abs=1e-4)
    again = fine_tune(ScratchLlama.from_folder(tiny_model_dir), tiny_tokenizer)
    assert again.train_loss == history.train_loss and again.eval_loss == history.eval_loss
    other = fine_tune(ScratchLlama.from_folder(tiny_model_dir), tiny_tokenizer, seed=1, steps=4)
    assert other.train_loss != history.train_loss[:4]
