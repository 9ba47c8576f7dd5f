"""torchrun / DistributedDataParallel glue: one process per device, gloo on CPU, NCCL on CUDA."""
from __future__ import annotations

import os
from dataclasses import dataclass

import torch
import torch.distributed as dist
from torch import nn


@dataclass(frozen=True)
class Dist:
    rank: int = 0
    world_size: int = 1
    local_rank: int = 0
    device: torch.device = torch.device("cpu")

    @property
    def active(self) -> bool:
        return self.world_size > 1

    @property
    def is_main(self) -> bool:
        return self.rank == 0


def launched_by_torchrun() -> bool:
    return "RANK" in os.environ and "WORLD_SIZE" in os.environ


def init_distributed() -> Dist:
    """The process group from torchrun's environment (RANK, WORLD_SIZE, LOCAL_RANK, MASTER_ADDR/PORT),
    or a single process when not launched by torchrun."""
    cuda = torch.cuda.is_available()
    if not launched_by_torchrun():
        return Dist(device=torch.device("cuda" if cuda else "cpu"))
    local_rank = int(os.environ.get("LOCAL_RANK", 0))
    if cuda:
        torch.cuda.set_device(local_rank)
    if not dist.is_initialized():
        dist.init_process_group("nccl" if cuda else "gloo")
    return Dist(dist.get_rank(), dist.get_world_size(), local_rank,
                torch.device("cuda", local_rank) if cuda else torch.device("cpu"))


def shutdown(d: Dist) -> None:
    """Leave the process group together: a rank that tears its connections down while another
    is still working would make the other's next use of them fail."""
    if d.active and dist.is_initialized():
        dist.barrier()
        dist.destroy_process_group()


def wrap(model: nn.Module, d: Dist, sync_bn: bool) -> nn.Module:
    """DDP around a trained model. SyncBatchNorm only on CUDA: PyTorch's SyncBatchNorm has no
    CPU kernel, so on CPU each process normalizes by its own part of the batch."""
    if not d.active:
        return model
    if sync_bn and d.device.type == "cuda":
        model = nn.SyncBatchNorm.convert_sync_batchnorm(model)
    return nn.parallel.DistributedDataParallel(model, device_ids=[d.local_rank] if d.device.type == "cuda" else None)


def unwrap(model: nn.Module) -> nn.Module:
    """The module inside DDP (for EMA updates, a forward pass that must not reduce gradients, saving)."""
    return model.module if isinstance(model, nn.parallel.DistributedDataParallel) else model


def broadcast_floats(values: list[float], d: Dist) -> list[float]:
    """Rank 0's values on every rank (decisions that rank 0 takes from its clock: stop, lr progress)."""
    if not d.active:
        return values
    t = torch.tensor(values, dtype=torch.float64)
    dist.broadcast(t, src=0)
    return t.tolist()


def gather_objects(obj, d: Dist) -> list:
    """Every rank's obj, in rank order, on every rank."""
    if not d.active:
        return [obj]
    out = [None] * d.world_size
    dist.all_gather_object(out, obj)
    return out
