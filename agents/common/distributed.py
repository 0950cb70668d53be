"""Synchronous data-parallel training under ``torchrun``: the plumbing, in one place.

``torchrun --no-python --nproc_per_node=N segenv train LEARNER ...`` starts N copies of the
command with ``RANK``, ``WORLD_SIZE``, ``LOCAL_RANK``, ``MASTER_ADDR`` and ``MASTER_PORT`` set
(PyTorch's "env://" initialisation). Each copy (a *rank*) plays its own episodes on its own
seeds and device; after every backward pass the ranks average their gradients
(:func:`average_gradients`, one all-reduce of all gradients flattened into one buffer, the
scheme of DDP's reducer and of CleanRL's ``ppo_atari_multigpu.py``) so every rank takes the
same optimiser step and the parameters stay identical. Rank 0 alone writes the run directory.

Why not ``DistributedDataParallel``'s wrapper: its gradient hooks only synchronise after a
forward pass through the wrapper itself, while these learners run the network T times inside
an env rollout, call its submodules directly (A3C's reward-map kernel, TorchRL's actor and
critic on a shared trunk) and take several backward passes per update (MECCA). The explicit
all-reduce after ``backward()`` is exact in all those cases; its result is DDP's (the mean of
the ranks' gradients).

Backend: NCCL when the rank's device is CUDA (device ``cuda:LOCAL_RANK``), gloo on the CPU.

Without torchrun's variables (or with ``WORLD_SIZE=1``) nothing here creates a process group
and every helper is a no-op, so a single-process run is bit-identical to one without this
module.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterable, Iterator, Mapping
from datetime import timedelta
from typing import Any

import numpy as np
import torch
from torch import distributed as dist

from segenv.errors import ConfigError

ENV_VARS = ("RANK", "WORLD_SIZE", "LOCAL_RANK", "MASTER_ADDR", "MASTER_PORT")
"""What torchrun sets for each rank (``env://`` initialisation)."""


def launched() -> bool:
    """Whether this process was started by torchrun (``RANK`` and ``WORLD_SIZE`` are set)."""
    return "RANK" in os.environ and "WORLD_SIZE" in os.environ


def requested_world_size() -> int:
    """The ``WORLD_SIZE`` torchrun asked for (1 when not launched by torchrun)."""
    return int(os.environ.get("WORLD_SIZE", "1")) if launched() else 1


def launch_rank() -> int:
    """The ``RANK`` torchrun gave this process (0 when not launched), group or no group."""
    return int(os.environ.get("RANK", "0")) if launched() else 0


def active() -> bool:
    """Whether a process group of several ranks is up."""
    return dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1


def rank() -> int:
    """The global rank of this process (0 when not distributed)."""
    return dist.get_rank() if active() else 0


def world_size() -> int:
    """The number of ranks (1 when not distributed)."""
    return dist.get_world_size() if active() else 1


def local_rank() -> int:
    """The rank of this process on its machine (``LOCAL_RANK``; 0 when not distributed)."""
    return int(os.environ.get("LOCAL_RANK", "0")) if launched() else 0


def is_main() -> bool:
    """Whether this process writes the run directory, logs and prints (rank 0)."""
    return rank() == 0


def backend_for(device: torch.device) -> str:
    """NCCL for CUDA devices, gloo otherwise."""
    return "nccl" if device.type == "cuda" else "gloo"


def rank_device(device: torch.device) -> torch.device:
    """The device of this rank: ``cuda:LOCAL_RANK`` for a CUDA device under torchrun."""
    if device.type != "cuda" or not launched():
        return device
    local = torch.device("cuda", local_rank())
    torch.cuda.set_device(local)
    return local


@contextlib.contextmanager
def session(device: torch.device, timeout_s: float = 1800.0) -> Iterator[torch.device]:
    """Join torchrun's process group for the block (if launched with several ranks).

    Yields the rank's device (:func:`rank_device`). The group is created from torchrun's
    environment variables with :func:`backend_for`'s backend and destroyed at the end, also
    when the block raises. Re-entrant: an inner block inside an active group changes nothing.
    Outside torchrun, or with ``WORLD_SIZE=1``, it yields ``device`` and creates nothing.
    """
    if requested_world_size() <= 1 or (dist.is_available() and dist.is_initialized()):
        yield rank_device(device) if requested_world_size() > 1 else device
        return
    if not dist.is_available():
        raise ConfigError("this torch build has no torch.distributed; run without torchrun")
    for name in ENV_VARS:
        if name not in os.environ:
            raise ConfigError(
                f"${name} is not set: start data-parallel training with torchrun, e.g. "
                "torchrun --no-python --nproc_per_node=2 segenv train a3c --out DIR"
            )
    device = rank_device(device)
    dist.init_process_group(backend_for(device), timeout=timedelta(seconds=timeout_s))
    try:
        yield device
    finally:
        dist.destroy_process_group()


def rank_seed(seed: int, start: int = 0) -> int:
    """The seed of this rank's own generators: ``seed`` on rank 0, a distinct one elsewhere.

    ``start`` (the update a resumed run starts at) keeps a resumed rank > 0 from replaying the
    action draws it made at the start of the run (rank 0 resumes its generators from the
    checkpoint, so it keeps ``seed``).
    """
    index = rank()
    if index == 0:
        return seed
    return (seed * 1_000_003 + index * 7_919 + start * 104_729) % 2**62


def rank_slice(count: int) -> slice:
    """The share of this rank in ``count * world_size()`` items (``rank·count`` onwards)."""
    return slice(rank() * count, (rank() + 1) * count)


def barrier() -> None:
    """Wait for every rank (no-op when not distributed)."""
    if active():
        dist.barrier()


def average_gradients(parameters: Iterable[torch.nn.Parameter]) -> None:
    """Replace each parameter's gradient by its mean over the ranks (no-op when not distributed).

    One all-reduce of all gradients flattened into one buffer. A parameter without a gradient
    counts as zero (every rank must hold the same parameters, in the same order).
    """
    if not active():
        return
    params = [parameter for parameter in parameters if parameter.requires_grad]
    if not params:
        return
    grads = [
        p.grad if p.grad is not None else torch.zeros_like(p, memory_format=torch.preserve_format)
        for p in params
    ]
    flat = torch.cat([grad.reshape(-1) for grad in grads])
    dist.all_reduce(flat, op=dist.ReduceOp.SUM)
    flat /= dist.get_world_size()
    offset = 0
    for parameter, grad in zip(params, grads, strict=True):
        count = grad.numel()
        parameter.grad = flat[offset : offset + count].view_as(grad).clone()
        offset += count


def broadcast_module(module: torch.nn.Module) -> None:
    """Copy rank 0's parameters and buffers to every rank (no-op when not distributed)."""
    if not active():
        return
    with torch.no_grad():
        for tensor in [*module.parameters(), *module.buffers()]:
            dist.broadcast(tensor.data, src=0)


def broadcast_object(value: Any) -> Any:
    """Rank 0's ``value`` on every rank (pickled; no-op when not distributed)."""
    if not active():
        return value
    box = [value if is_main() else None]
    dist.broadcast_object_list(box, src=0)
    return box[0]


def agree(flags: Iterable[float]) -> list[float]:
    """The element-wise maximum of ``flags`` over the ranks (e.g. "stop", "save now")."""
    values = [float(flag) for flag in flags]
    if not active():
        return values
    tensor = torch.tensor(values, dtype=torch.float64)
    dist.all_reduce(tensor, op=dist.ReduceOp.MAX)
    return tensor.tolist()


def reduce_update(
    scalars: Mapping[str, float], env_steps: int, transitions: int
) -> tuple[dict[str, float], int, int]:
    """One update over all ranks: the scalars' mean, the env steps' and transitions' sums.

    Every rank must pass the same scalar names (they are sorted before the all-reduce).
    """
    if not active():
        return dict(scalars), env_steps, transitions
    names = sorted(scalars)
    values = [float(scalars[name]) for name in names]
    tensor = torch.tensor([*values, float(env_steps), float(transitions)], dtype=torch.float64)
    dist.all_reduce(tensor, op=dist.ReduceOp.SUM)
    size = dist.get_world_size()
    means = {name: float(tensor[i]) / size for i, name in enumerate(names)}
    return means, int(tensor[-2]), int(tensor[-1])


def batch_line(num_envs: int, lr: float, unit: str = "episodes") -> str:
    """The effective batch and the learning-rate rule, as rank 0 prints it."""
    size = world_size()
    rate = np.format_float_scientific(lr, trim="-", exp_digits=1)
    return (
        f"world size {size}: {size}×{num_envs} envs per update = {size * num_envs} {unit}; "
        f"lr {rate} unscaled (gradients are averaged)"
    )
