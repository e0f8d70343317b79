"""Data-parallel training across the processes `torchrun` starts: `torchrun --nproc_per_node=N -m
netspec train FILE`. Every process holds the whole model and the whole (small) data set; each
supervised step splits its minibatch between the processes, and DistributedDataParallel averages
their gradients, so N processes take the same steps one process would (to rounding). Greedy
pretraining runs whole in every process, identically: it is cheap and needs no messages. Only
process 0 writes the run folder and prints; the others keep their metrics in memory.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import torch
import torch.distributed as dist

from netspec.diagnostics.failure import Failure

# A process that dies leaves the others waiting in a collective; they give up after this.
TIMEOUT = timedelta(minutes=10)


@dataclass(frozen=True)
class World:
    """This process's place among the ones training together (a single process: rank 0 of 1)."""

    rank: int = 0
    size: int = 1
    local_rank: int = 0

    @property
    def main(self) -> bool:
        """The process that writes the run folder and prints."""
        return self.rank == 0

    @property
    def parallel(self) -> bool:
        return self.size > 1


def world_from_env() -> World:
    """The world torchrun describes in RANK, WORLD_SIZE and LOCAL_RANK; one process without."""
    size = int(os.environ.get("WORLD_SIZE", "1"))
    if size <= 1:
        return World()
    return World(int(os.environ["RANK"]), size, int(os.environ.get("LOCAL_RANK", "0")))


class WorldError(Failure):
    """More processes than the machine has GPUs for, say: a user error."""

    code = "E752"


def join(world: World, device: torch.device) -> torch.device:
    """Join the process group (NCCL on CUDA, gloo on the CPU); the device this process uses."""
    if device.type == "cuda":
        if world.local_rank >= torch.cuda.device_count():
            raise WorldError(
                f"process {world.local_rank} of this machine has no GPU of its own (torch finds "
                f"{torch.cuda.device_count()}); start at most that many per machine "
                "(torchrun --nproc_per_node), or train on the CPU with --device cpu"
            )
        device = torch.device("cuda", world.local_rank)
        torch.cuda.set_device(device)
    if not dist.is_initialized():
        backend = "nccl" if device.type == "cuda" else "gloo"
        dist.init_process_group(backend, timeout=TIMEOUT)
    return device


def leave() -> None:
    if dist.is_initialized():
        dist.destroy_process_group()


def shard(indices: torch.Tensor, world: World) -> torch.Tensor:
    """This process's share of a minibatch's sample indices: every size-th one."""
    return indices[world.rank :: world.size] if world.parallel else indices


def summed(tensor: torch.Tensor, world: World) -> torch.Tensor:
    """The tensor summed over the processes (a copy; the tensor itself when there is one)."""
    if not world.parallel:
        return tensor
    total = tensor.detach().clone()
    dist.all_reduce(total)
    return total


def shared(value: Any, world: World) -> Any:
    """Process 0's value of a picklable object (a run folder's path), in every process."""
    if not world.parallel:
        return value
    box = [value]
    dist.broadcast_object_list(box, src=0)
    return box[0]


def parallel(module: torch.nn.Module, world: World, device: torch.device) -> Any:
    """The module as DDP wraps it for a stage's training steps (the module itself alone).

    find_unused_parameters: some trainable parameters have no part in the loss (an RBM's visible
    bias during fine-tuning), and DDP would otherwise wait for their gradients forever.
    """
    if not world.parallel:
        return module
    from torch.nn.parallel import DistributedDataParallel

    ids = [device.index] if device.type == "cuda" else None
    return DistributedDataParallel(module, device_ids=ids, static_graph=True)
