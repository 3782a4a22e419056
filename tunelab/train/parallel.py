"""How the loop runs the model on one process or several: plain, DDP (adapters) or FSDP (full weights).

The recipe's loss function is wrapped in a module (`LossModule`) so DDP and FSDP see every forward
through their own `forward` (their gradient hooks need it), whatever the loss does inside (DPO runs
the reference and the policy in one call). Each engine also says how to gather a checkpoint on
rank 0 and how to load one written by rank 0 into every rank.

- `Engine`: one process, the model itself.
- `DDPEngine`: torch's DistributedDataParallel; gradients all-reduced (averaged) in the last
  micro-batch's backward; a checkpoint is rank 0's trainable weights and optimizer, broadcast on load.
- `FSDPEngine`: FSDP2 (`fully_shard`) per decoder layer plus the root; parameters, gradients and
  optimizer state sharded; a checkpoint is the full state gathered to rank 0 (CPU), loaded by
  broadcasting from rank 0 (`torch.distributed.checkpoint.state_dict`).
"""

from __future__ import annotations

from contextlib import contextmanager, nullcontext

import torch

from tunelab.train import distributed
from tunelab.train.checkpoint import copy_into, trainable_state

PREFIX = "model."  # LossModule's name for the model


class LossModule(torch.nn.Module):
    def __init__(self, model, loss_fn) -> None:
        super().__init__()
        self.model, self.loss_fn = model, loss_fn

    def forward(self, batch):
        return self.loss_fn(self.model, batch)


class Engine:
    """One process."""

    def __init__(self, model, loss_fn) -> None:
        self.model = model
        self.root = LossModule(model, loss_fn)

    def params(self) -> list[torch.Tensor]:
        return [p for p in self.root.parameters() if p.requires_grad]

    def sync(self, last: bool):
        """Context of one micro-batch's forward and backward; gradients are synchronised when `last`."""
        return nullcontext()

    def __call__(self, batch):
        return self.root(batch)

    def clip(self, params, max_norm: float) -> float:
        return float(torch.nn.utils.clip_grad_norm_(params, max_norm))

    def checkpoint_state(self, optimizer) -> tuple[dict, dict] | None:
        """(trainable weights, optimizer state) to write, on rank 0; None elsewhere."""
        return trainable_state(self.model), optimizer.state_dict()

    def load_weights_and_optimizer(self, weights: dict | None, optim_state: dict | None, optimizer) -> None:
        copy_into(self.model, weights, "The checkpoint")
        optimizer.load_state_dict(optim_state)

    def evaluating(self):
        """Context in which the recipe's `evaluate` may call the model directly."""
        return nullcontext()

    def full_state_dict(self) -> dict | None:
        """The model's complete state for saving the result when it is sharded; None: save the model as it is."""
        return None


class DDPEngine(Engine):
    def __init__(self, model, loss_fn) -> None:
        from torch.nn.parallel import DistributedDataParallel  # lazy: only distributed runs need it

        super().__init__(model, loss_fn)
        # device_ids=None: the loss moves its own inputs; the module's buffers (rotary tables) are
        # the same on every rank, so they are not broadcast at each forward
        self.ddp = DistributedDataParallel(self.root, device_ids=None, forward_sync_buffers=False)

    def sync(self, last: bool):
        return nullcontext() if last else self.ddp.no_sync()

    def __call__(self, batch):
        return self.ddp(batch)

    def checkpoint_state(self, optimizer):
        return super().checkpoint_state(optimizer) if distributed.current().main else None

    def load_weights_and_optimizer(self, weights, optim_state, optimizer) -> None:
        weights, optim_state = distributed.broadcast_bytes((weights, optim_state))
        super().load_weights_and_optimizer(weights, optim_state, optimizer)


def _no_split_layers(model) -> list[torch.nn.Module]:
    inner = model.get_base_model() if hasattr(model, "get_base_model") else model
    names = set(getattr(inner, "_no_split_modules", None) or [])
    return [m for m in inner.modules() if type(m).__name__ in names]


class FSDPEngine(Engine):
    def __init__(self, model, loss_fn) -> None:
        from torch.distributed.fsdp import fully_shard  # lazy: only distributed runs need it

        super().__init__(model, loss_fn)
        for layer in _no_split_layers(model):
            fully_shard(layer)
        fully_shard(self.root)  # embeddings, final norm and a tied head: one unit, gathered per forward
        self.names = [n for n, p in model.named_parameters() if p.requires_grad]

    def sync(self, last: bool):
        @contextmanager
        def ctx():
            self.root.set_requires_gradient_sync(last)
            yield

        return ctx()

    def clip(self, params, max_norm: float) -> float:
        norm = torch.nn.utils.clip_grad_norm_(params, max_norm)
        return float(norm.full_tensor() if hasattr(norm, "full_tensor") else norm)

    def _options(self, **kw):
        from torch.distributed.checkpoint.state_dict import StateDictOptions  # lazy: only FSDP runs need it

        return StateDictOptions(full_state_dict=True, **kw)

    def full_state_dict(self) -> dict | None:
        from torch.distributed.checkpoint.state_dict import get_model_state_dict  # lazy: only FSDP runs need it

        state = get_model_state_dict(self.root, options=self._options(cpu_offload=True))  # a collective
        return {k.removeprefix(PREFIX): v for k, v in state.items()} if distributed.current().main else None

    def checkpoint_state(self, optimizer):
        from torch.distributed.checkpoint.state_dict import get_optimizer_state_dict  # lazy: only FSDP runs need it

        state = self.full_state_dict()
        optim = get_optimizer_state_dict(self.root, optimizer, options=self._options(cpu_offload=True))
        if state is None:
            return None
        keep = set(self.names)  # the trained parameters, a tied head once, as one process writes them
        return {k: v for k, v in state.items() if k in keep}, optim

    def load_weights_and_optimizer(self, weights, optim_state, optimizer) -> None:
        from torch.distributed.checkpoint.state_dict import (  # lazy: only FSDP runs need it
            set_model_state_dict,
            set_optimizer_state_dict,
        )

        main = distributed.current().main
        state = {PREFIX + k: v for k, v in weights.items()} if main else {}
        options = self._options(broadcast_from_rank0=True, strict=False)
        set_model_state_dict(self.root, state, options=options)
        set_optimizer_state_dict(self.root, optimizer, optim_state if main else {}, options=options)

    def evaluating(self):
        @contextmanager
        def ctx():
            self.root.unshard()  # the root's own weights; each layer gathers its own as it runs
            try:
                yield
            finally:
                self.root.reshard()

        return ctx()


def make_engine(model, loss_fn, *, shard: bool) -> Engine:
    """The engine for this process's world: FSDP when `shard` (full fine-tuning) and distributed."""
    world = distributed.current()
    if not world.enabled:
        return Engine(model, loss_fn)
    return FSDPEngine(model, loss_fn) if shard else DDPEngine(model, loss_fn)
