"""A Llama-architecture decoder, LoRA and a training loop written from scratch in plain PyTorch, to
learn from: one file per idea, read in this order: rmsnorm, rope, attention (with kv_cache), mlp,
block, model, sampling, generate, lora, train. It loads the real default model (SmolLM2-135M-Instruct)
and matches transformers' logits and PEFT's LoRA (tests/unit/scratch). Nothing else in TuneLab imports
it except the `tunelab scratch` commands."""
