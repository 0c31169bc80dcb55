"""Multi-process training with ``torch.distributed``: the environment contract of ``torchrun``
(``RANK``, ``WORLD_SIZE``, ``LOCAL_RANK``, ``MASTER_ADDR``, ``MASTER_PORT``) whether the
processes come from ``torchrun`` or from :func:`launch` (``lic train --nproc K``).

Backend: NCCL on CUDA, gloo on CPU. Run as ``python -m lic_core.training.distributed
CONFIG.json``, this module is one worker of :func:`launch`.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping

ENV_KEYS = ("RANK", "WORLD_SIZE", "LOCAL_RANK", "MASTER_ADDR", "MASTER_PORT")


@dataclass(frozen=True)
class DistInfo:
    rank: int = 0
    world: int = 1
    local_rank: int = 0

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def enabled(self) -> bool:
        return self.world > 1


def env_info() -> DistInfo:
    """Rank and world size from the environment (1 process when unset)."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    return DistInfo(int(os.environ.get("RANK", "0")), world, int(os.environ.get("LOCAL_RANK", os.environ.get("RANK", "0"))))


def init(device_type: str) -> DistInfo:
    """Join the process group described by the environment (no-op for one process)."""
    info = env_info()
    if info.enabled:
        import torch.distributed as dist

        if not dist.is_initialized():
            backend = "nccl" if device_type == "cuda" else "gloo"
            if device_type == "cuda":
                import torch

                torch.cuda.set_device(info.local_rank)
            dist.init_process_group(backend=backend, rank=info.rank, world_size=info.world)
    return info


def shutdown() -> None:
    import torch.distributed as dist

    if dist.is_available() and dist.is_initialized():
        dist.destroy_process_group()


def all_reduce_mean(tensor, info: DistInfo):
    """The mean of ``tensor`` over ranks (in place; unchanged for one process)."""
    if info.enabled:
        import torch.distributed as dist

        dist.all_reduce(tensor, op=dist.ReduceOp.SUM)
        tensor /= info.world
    return tensor


def all_gather(tensor, info: DistInfo) -> list:
    """``tensor`` of every rank (same shape and dtype on each), in rank order."""
    if not info.enabled:
        return [tensor]
    import torch
    import torch.distributed as dist

    out = [torch.empty_like(tensor) for _ in range(info.world)]
    dist.all_gather(out, tensor.contiguous())
    return out


def barrier(info: DistInfo) -> None:
    if info.enabled:
        import torch.distributed as dist

        dist.barrier()


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def launch(config: Mapping[str, Any], nproc: int) -> int:
    """Run ``nproc`` training workers on this machine as ``torchrun --standalone`` would.

    Returns the first non-zero exit code of a worker (the others are then stopped), else 0.
    """
    if nproc < 1:
        raise ValueError(f"--nproc must be at least 1, got {nproc}")
    with tempfile.TemporaryDirectory(prefix="lic-train-") as tmp:
        cfg_path = Path(tmp) / "config.json"
        cfg_path.write_text(json.dumps(dict(config)))
        base = dict(os.environ, MASTER_ADDR="127.0.0.1", MASTER_PORT=str(free_port()), WORLD_SIZE=str(nproc))
        base.setdefault("OMP_NUM_THREADS", "1")  # as torchrun does for several workers
        procs = [
            subprocess.Popen(
                [sys.executable, "-m", "lic_core.training.distributed", str(cfg_path)],
                env=dict(base, RANK=str(r), LOCAL_RANK=str(r), LOCAL_WORLD_SIZE=str(nproc)),
            )
            for r in range(nproc)
        ]
        try:
            while True:
                codes = [p.poll() for p in procs]
                failed = [c for c in codes if c not in (None, 0)]
                if failed or all(c == 0 for c in codes):
                    break
                time.sleep(0.2)
        finally:
            for p in procs:
                if p.poll() is None:
                    p.terminate()
            for p in procs:
                try:
                    p.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    p.kill()
        return failed[0] if failed else 0


def _worker(config_path: str) -> int:
    from lic_core.errors import LicError
    from lic_core.training.trainer import TrainConfig, train

    try:
        train(TrainConfig.from_dict(json.loads(Path(config_path).read_text())))
    except LicError as exc:
        print(f"lic: error (rank {os.environ.get('RANK', '?')}): {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(_worker(sys.argv[1]))
