import pytest
import torch

from tunelab.data.records import ChatRecord, Message, TextRecord
from tunelab.train.batching import batches_for_epoch, pack, pad
from tunelab.train.losses import causal_lm_loss
from tunelab.train.tokenize import IGNORE, Example, tokenize_chat, tokenize_records


def chat(*turns):
    roles = ["user", "assistant"] * len(turns)
    return ChatRecord(messages=[Message(role=r, content=c) for r, c in zip(roles, turns)])


def test_completion_only_labels_cover_exactly_the_assistant_turns(tiny):
    rec = chat("Hello there", "Hi! How can I help?", "A gift", "Try the tea.")
    ex = tokenize_chat(tiny.tokenizer, rec, template=None, max_len=512)
    labelled = tiny.tokenizer.decode([t for t, lab in zip(ex.input_ids, ex.labels) if lab != IGNORE])
    assert labelled == "Hi! How can I help?<|im_end|>\nTry the tea.<|im_end|>\n"
    full = tiny.tokenizer.apply_chat_template([m.model_dump(exclude={"tool_call"}) for m in rec.messages], tokenize=False)
    assert ex.input_ids == tiny.tokenizer(full, add_special_tokens=False)["input_ids"]


def test_full_loss_labels_every_token_and_text_records_end_with_eos(tiny):
    ex = tokenize_chat(tiny.tokenizer, chat("Hi", "Yo"), template=None, max_len=512, completion_only=False)
    assert ex.labels == ex.input_ids
    [text] = tokenize_records(tiny.tokenizer, [TextRecord(text="The quick brown fox")], template=None, max_len=64)
    assert text.input_ids[-1] == tiny.tokenizer.eos_token_id


def test_truncation_and_examples_without_targets_are_dropped(tiny):
    long_prompt = chat("word " * 300, "answer")
    assert tokenize_records(tiny.tokenizer, [long_prompt], template=None, max_len=32) == []
    with pytest.raises(ValueError, match="record 0: SFT trains on chat or text"):
        from tunelab.data.records import ClassificationRecord
        tokenize_records(tiny.tokenizer, [ClassificationRecord(text="x", label="y")], template=None, max_len=32)


def examples(tiny, n=3):
    texts = ["The quick brown fox jumps", "Hello! How can I help you today?", "Organic green tea, 100 bags."]
    out = []
    for t in texts[:n]:
        ids = tiny.tokenizer(t)["input_ids"]
        out.append(Example(ids, list(ids)))
    return out


def test_packed_row_attends_within_each_sample_only(tiny):
    exs = examples(tiny)
    packed = pack(exs)
    assert packed.position_ids[0].tolist() == [i for ex in exs for i in range(len(ex))]
    with torch.no_grad():
        joint = tiny.model(**packed.model_inputs()).logits[0]
        alone = torch.cat([tiny.model(input_ids=torch.tensor([ex.input_ids])).logits[0] for ex in exs])
    assert torch.allclose(joint, alone, atol=1e-5)


def test_packed_and_padded_give_the_same_loss(tiny):
    exs = examples(tiny)
    with torch.no_grad():
        a, na, ta = causal_lm_loss(tiny.model, pack(exs))
        b, nb, tb = causal_lm_loss(tiny.model, pad(exs, tiny.tokenizer.pad_token_id))
    assert na == nb == sum(len(ex) - 1 for ex in exs)
    assert ta == tb == sum(len(ex) for ex in exs)
    assert abs(float(a) - float(b)) < 1e-3 * float(a)
    # the first token of each packed sample is never a target (it follows another sample)
    starts = [0, len(exs[0]), len(exs[0]) + len(exs[1])]
    assert all(int(pack(exs).labels[0, s]) == IGNORE for s in starts)


def test_epoch_order_is_seeded_and_covers_every_example():
    exs = [Example([i, i], [i, i]) for i in range(10)]
    first = batches_for_epoch(exs, 3, seed=1, epoch=0)
    assert [len(b) for b in first] == [3, 3, 3, 1]
    assert sorted(e.input_ids[0] for b in first for e in b) == list(range(10))
    again = batches_for_epoch(exs, 3, seed=1, epoch=0)
    assert [[e.input_ids[0] for e in b] for b in first] == [[e.input_ids[0] for e in b] for b in again]
    other = batches_for_epoch(exs, 3, seed=1, epoch=1)
    assert [[e.input_ids[0] for e in b] for b in first] != [[e.input_ids[0] for e in b] for b in other]


def test_padded_rows_need_no_mask_each_sample_matches_its_own_loss(tiny):
    exs = examples(tiny)
    batch = pad(exs, tiny.tokenizer.pad_token_id)
    assert batch.attention_mask is None and batch.position_ids is None
    with torch.no_grad():
        together = float(causal_lm_loss(tiny.model, batch)[0])
        alone = sum(float(causal_lm_loss(tiny.model, pad([ex], tiny.tokenizer.pad_token_id))[0]) for ex in exs)
    assert abs(together - alone) < 1e-4 * abs(alone)


def test_group_by_length_keeps_every_example_once_and_groups_similar_lengths():
    import random

    rng = random.Random(0)
    exs = [Example(list(range(n)), list(range(n))) for n in (rng.randint(5, 300) for _ in range(200))]
    grouped = batches_for_epoch(exs, 4, seed=3, epoch=0, group_by_length=True)
    plain = batches_for_epoch(exs, 4, seed=3, epoch=0)
    assert sorted(id(e) for b in grouped for e in b) == sorted(id(e) for e in exs)
    assert [[id(e) for e in b] for b in grouped] == [
        [id(e) for e in b] for b in batches_for_epoch(exs, 4, seed=3, epoch=0, group_by_length=True)]

    def padding(batches):
        return sum(len(b) * max(len(e) for e in b) - sum(len(e) for e in b) for b in batches)
    assert padding(grouped) < padding(plain) / 4
    # the order stays random: neither sorted nor the same in the next epoch
    lengths = [max(len(e) for e in b) for b in grouped]
    assert lengths != sorted(lengths) and lengths != sorted(lengths, reverse=True)
    nxt = batches_for_epoch(exs, 4, seed=3, epoch=1, group_by_length=True)
    assert [[id(e) for e in b] for b in grouped] != [[id(e) for e in b] for b in nxt]


def _loss_and_grads(model, batch):
    model.zero_grad()
    loss, n, _ = causal_lm_loss(model, batch)
    (loss / n).backward()
    return float(loss.detach()), [p.grad.clone() for p in model.parameters() if p.grad is not None]


def test_packed_attention_per_sample_equals_the_block_mask(tiny):
    """The per-sample attention (train.packed_attention) gives the block-masked SDPA's loss and
    gradients on a packed row, and leaves padded batches to SDPA with its mask."""
    from tunelab.train.packed_attention import ATTENTION, restore_sdpa, sample_lengths, use_packed_attention

    exs = examples(tiny)
    packed = pack(exs)
    assert sample_lengths(packed.position_ids) == [len(ex) for ex in exs]
    assert sample_lengths(torch.arange(5)[None]) is None  # one sample: nothing to split
    model = tiny.model
    for p in model.parameters():
        p.requires_grad_(True)
    ref_loss, ref_grads = _loss_and_grads(model, packed)
    with torch.no_grad():
        ref_padded = float(causal_lm_loss(model, pad(exs, tiny.tokenizer.pad_token_id))[0])
    try:
        assert use_packed_attention(model)
        assert model.config._attn_implementation == ATTENTION
        loss, grads = _loss_and_grads(model, packed)
        with torch.no_grad():
            padded = float(causal_lm_loss(model, pad(exs, tiny.tokenizer.pad_token_id))[0])
    finally:
        restore_sdpa(model)
        model.zero_grad()
    assert model.config._attn_implementation == "sdpa"
    assert abs(loss - ref_loss) < 1e-5 * abs(ref_loss)
    assert all(torch.allclose(a, b, atol=1e-6, rtol=1e-4) for a, b in zip(grads, ref_grads))
    assert abs(padded - ref_padded) < 1e-5 * abs(ref_padded)


def test_packed_lengths_are_read_again_for_every_new_row():
    from tunelab.train.packed_attention import _LengthsMemo

    memo = _LengthsMemo()
    first = torch.tensor([[0, 1, 2, 0, 1]])
    assert memo.get(first) == [3, 2] and memo.get(first) == [3, 2]
    del first
    assert memo.get(torch.tensor([[0, 1, 0, 1, 2]])) == [2, 3]  # same shape, maybe the same memory
    row = torch.tensor([[0, 1, 2, 0, 1]])
    assert memo.get(row) == [3, 2]
    row[0, 2] = 0  # changed in place
    assert memo.get(row) == [2, 1, 2]
