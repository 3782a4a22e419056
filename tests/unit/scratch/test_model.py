"""The whole scratch model against transformers on the tiny Llama (separate and tied output layer),
and a clear refusal of weights that do not fit."""

import pytest
import torch
from safetensors.torch import load_file, save_file

from tunelab.models.errors import ModelSourceError
from tunelab.scratch.model import ScratchLlama


def test_logits_match_transformers(tiny_scratch, tiny_hf, ids):
    with torch.no_grad():
        ours, theirs = tiny_scratch(ids), tiny_hf(ids).logits
    assert ours.shape == theirs.shape == (*ids.shape, tiny_hf.config.vocab_size)
    assert (ours - theirs).abs().max() < 1e-5
    last = tiny_scratch(ids, last_only=True)
    assert last.shape == (2, 1, tiny_hf.config.vocab_size) and torch.allclose(last[:, 0], ours[:, -1], atol=1e-6)


def test_tied_embeddings_score_with_the_embedding_matrix(tied_model_dir):
    from transformers import AutoModelForCausalLM

    theirs = AutoModelForCausalLM.from_pretrained(tied_model_dir, attn_implementation="eager").eval()
    ours = ScratchLlama.from_folder(tied_model_dir)
    assert ours.lm_head is None and ours.output_weight() is ours.embed_tokens.weight
    n_ours = sum(p.numel() for p in ours.parameters())
    assert n_ours == sum(p.numel() for p in theirs.parameters())  # transformers counts the shared matrix once
    ids = torch.randint(0, 300, (1, 9))
    with torch.no_grad():
        assert (ours(ids) - theirs(ids).logits).abs().max() < 1e-5


def test_weights_that_do_not_fit_are_named(tiny_model_dir, tmp_path):
    folder = tmp_path / "broken"
    folder.mkdir()
    (folder / "config.json").write_text((tiny_model_dir / "config.json").read_text())
    tensors = load_file(str(tiny_model_dir / "model.safetensors"))
    missing = {k: v for k, v in tensors.items() if k != "model.layers.1.mlp.up_proj.weight"}
    save_file(missing, str(folder / "model.safetensors"))
    with pytest.raises(ModelSourceError, match=r"missing \['model.layers.1.mlp.up_proj.weight'\]"):
        ScratchLlama.from_folder(folder)
    save_file({**tensors, "model.norm.weight": torch.ones(65)}, str(folder / "model.safetensors"))
    with pytest.raises(ModelSourceError, match=r"model.norm.weight has shape \(65,\)"):
        ScratchLlama.from_folder(folder)
    (folder / "model.safetensors").unlink()
    with pytest.raises(ModelSourceError, match="no model.safetensors"):
        ScratchLlama.from_folder(folder)
