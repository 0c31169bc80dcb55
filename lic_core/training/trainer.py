"""The trainer: any composed codec, one process or several (DDP), resumable exactly.

Per step: ``loss = lmbda * D + r * bpp + sum(term.weight_at(progress) * term(x, out, codec))``
(the codec's loss terms with their schedules; ``r`` the rate-weight warm-up, 1 without one),
Adam on every parameter except the entropy bottlenecks' ``quantiles``, gradient-norm
clipping, a learning-rate schedule of the progress; a second Adam minimises
``codec.aux_loss()`` over the quantiles. The data stream, the LR schedule, the rate weight and
the loss-term schedules are functions of the step, and the state file holds the model, both
optimizers and every rank's RNG states, so a resumed run continues exactly as an
uninterrupted one would. Loss terms' values and diagnostics are logged under their ids.
"""

from __future__ import annotations

import json
import os
import sys
import time
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any, Mapping

import torch
from torch import Tensor, nn

from lic_core.errors import LicError
from lic_core.evaluation.metrics import MSSSIM_MIN_SIDE
from lic_core.losses import rate_distortion
from lic_core.training import distributed as D
from lic_core.training.cpu_bf16 import NATIVE_BF16_FLAGS, native_bf16
from lic_core.training.data import (
    PatchStream,
    StepBatches,
    list_images,
    steps_for_epochs,
    validation_images,
)
from lic_core.training.schedule import LRSchedule, RateWeight, parse_rate_weight, parse_schedule
from lic_core.training.state import read_state, restore_state, save_state, torch_rng_tensor

AMP_DTYPES = {"bf16": torch.bfloat16, "fp16": torch.float16}


@dataclass
class TrainConfig:
    """Everything a run depends on (JSON-serialisable: it travels to distributed workers)."""

    recipe: Any
    data: str
    lmbda: float
    metric: str = "mse"
    steps: int | None = None
    epochs: float | None = None
    batch: int = 8
    patch: int = 256
    lr: float = 1e-4
    aux_lr: float = 1e-3
    clip: float = 1.0
    schedule: str = "cosine"
    rate_weight: str | None = None
    out: str | None = None
    state: str | None = None
    resume: bool = False
    init: str | None = None
    init_matching: bool = False
    fresh_lr: float | None = None
    train_only: list[str] | None = None
    device: str = "cpu"
    seed: int = 0
    val_dir: str | None = None
    val_every: int = 1000
    val_count: int = 4
    val_crop: int = 256
    ckpt_every: int = 1000
    log: str | None = None
    log_every: int = 10
    amp: str | None = None
    compile: bool = False
    workers: int = 0
    small: str = "upscale"
    progress: bool = True

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "TrainConfig":
        names = {f.name for f in fields(cls)}
        unknown = set(data) - names
        if unknown:
            raise LicError(f"unknown training options: {', '.join(sorted(unknown))}")
        return cls(**data)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def default_out(recipe_name: str, lmbda: float, metric: str) -> str:
    return f"{recipe_name.replace('/', '_')}-{metric}-{lmbda:g}.safetensors"


def sibling(out: str | os.PathLike, suffix: str) -> Path:
    """``model.safetensors`` -> ``model<suffix>`` next to it (the training state, the log)."""
    out = Path(out)
    stem = out.name[: -len(".safetensors")] if out.name.endswith(".safetensors") else out.name
    return out.with_name(stem + suffix)


def freeze_except(codec: nn.Module, prefixes: list[str]) -> None:
    """Train only the parameters under ``prefixes`` (module paths such as ``prepost.0``): the rest
    stop needing gradients, so a stage added to a trained codec learns on its fixed outputs.
    An unknown prefix is a :class:`LicError` naming the codec's modules."""

    def under(name: str, prefix: str) -> bool:
        return name == prefix or name.startswith(prefix + ".")

    named = list(codec.named_parameters())
    for prefix in prefixes:
        if not any(under(n, prefix) for n, _ in named):
            tops = sorted({".".join(n.split(".")[:2]) for n, _ in named if "." in n})
            raise LicError(f"--train-only {prefix!r}: no parameters under it (modules: {', '.join(tops)})")
    for n, p in named:
        p.requires_grad_(any(under(n, q) for q in prefixes))


def term_labels(codec: nn.Module) -> list[str]:
    """Log names of the codec's loss terms: their component ids (``cca.loss``), with ``#i``
    (the term's index) where an id appears more than once."""
    specs = list((getattr(codec, "recipe", None) or {}).get("losses") or [])
    ids = [str(s.get("id")) if isinstance(s, Mapping) and s.get("id") else f"term{i}" for i, s in enumerate(specs)]
    ids += [f"term{i}" for i in range(len(ids), len(codec.losses))]
    return [f"{n}#{i}" if ids.count(n) > 1 else n for i, n in enumerate(ids)]


class _Objective(nn.Module):
    """Forward and every loss inside one module, so that DDP sees all parameters in use."""

    def __init__(self, codec: nn.Module, lmbda: float, metric: str) -> None:
        super().__init__()
        self.codec, self.lmbda, self.metric = codec, lmbda, metric
        self.labels = term_labels(codec)

    def forward(self, x: Tensor, weights: list[float], rate_weight: float = 1.0) -> tuple[Tensor, dict[str, Tensor]]:
        out = self.codec(x)
        parts = rate_distortion(x, out, self.lmbda, self.metric, rate_weight)
        loss = parts["loss"]
        for label, term, w in zip(self.labels, self.codec.losses, weights):
            if w:
                term.diagnostics = {}
                value = term(x, out, self.codec)
                parts[label] = value
                parts.update({f"{label}/{k}": v.detach() for k, v in term.diagnostics.items()})
                loss = loss + w * value
        parts["total"] = loss
        return loss, parts


class Trainer:
    """One training run; :meth:`run` trains until ``total`` steps (or ``until``)."""

    def __init__(self, config: TrainConfig) -> None:
        from lic_core import compose, load_recipe

        self.cfg = cfg = config
        if cfg.metric not in ("mse", "ms-ssim"):
            raise LicError(f"--metric must be mse or ms-ssim, got {cfg.metric!r}")
        if cfg.lmbda <= 0:
            raise LicError(f"--lambda must be positive, got {cfg.lmbda}")
        if cfg.amp not in (None, "bf16", "fp16"):
            raise LicError(f"--amp must be bf16 or fp16, got {cfg.amp!r}")
        if cfg.steps is not None and cfg.epochs is not None:
            raise LicError("give --steps or --epochs, not both")
        self.device = torch.device(cfg.device)
        if self.device.type == "cuda" and not torch.cuda.is_available():
            raise LicError("--device cuda: no CUDA device available")
        if self.device.type != "cuda" and cfg.amp == "fp16":
            raise LicError("--amp fp16 is a CUDA option (use --device cuda, or --amp bf16 on CPU)")
        self.dist = D.init(self.device.type)
        if self.dist.is_main and self.device.type == "cpu" and cfg.amp == "bf16" and native_bf16() is False:
            print(f"lic train: warning: this CPU has no native bfloat16 (none of {', '.join(sorted(NATIVE_BF16_FLAGS))} "
                  "in its flags): --amp bf16 is emulated and much slower than float32", file=sys.stderr)
        if self.device.type == "cuda":
            self.device = torch.device("cuda", self.dist.local_rank)

        recipe = load_recipe(cfg.recipe)
        torch.manual_seed(cfg.seed)  # same initial weights on every rank
        self.codec = compose(recipe)
        fresh: list[str] = []  # with --init-matching: the coding-state keys that start fresh
        if cfg.fresh_lr is not None and not (cfg.init and cfg.init_matching):
            raise LicError("--fresh-lr needs --init CKPT --init-matching (it sets the LR of what starts fresh)")
        if cfg.init:  # fine-tuning: start from a coding checkpoint of the same recipe (or warm start)
            from lic_core.checkpoint import load_matching_weights, load_weights
            from lic_core.zoo import checkpoint_path

            if cfg.init_matching:
                loaded, fresh = load_matching_weights(self.codec, checkpoint_path(cfg.init))
                if self.dist.is_main:
                    print(f"lic train: {len(loaded)} tensors from {cfg.init}, {len(fresh)} start fresh")
            else:
                load_weights(self.codec, checkpoint_path(cfg.init))
        if cfg.train_only:
            freeze_except(self.codec, cfg.train_only)
        self.codec = self.codec.to(self.device).train()
        self.recipe_name = str(self.codec.recipe.get("name") or "codec")
        self.out = Path(cfg.out or default_out(self.recipe_name, cfg.lmbda, cfg.metric))
        self.state_path = Path(cfg.state) if cfg.state else sibling(self.out, ".state.safetensors")
        self.log_path = Path(cfg.log) if cfg.log else sibling(self.out, ".log.jsonl")

        files = list_images(cfg.data)
        val_files = list_images(cfg.val_dir) if cfg.val_dir else []
        if not val_files and cfg.val_count > 0 and len(files) >= 2 * cfg.val_count:
            files, val_files = files[: -cfg.val_count], files[-cfg.val_count :]  # held out
        self.stream = PatchStream(files, cfg.patch, cfg.seed, cfg.small)
        if cfg.patch % self.codec.stride:
            raise LicError(f"--patch {cfg.patch} must be a multiple of the codec's stride {self.codec.stride}")
        if cfg.metric == "ms-ssim" and cfg.patch < MSSSIM_MIN_SIDE:
            raise LicError(f"--metric ms-ssim needs --patch of at least {MSSSIM_MIN_SIDE} (MS-SSIM's 5 scales)")
        self.val_images = (
            [v.to(self.device) for v in validation_images(val_files, cfg.val_count, cfg.val_crop)]
            if self.dist.is_main and cfg.val_count > 0
            else []
        )
        if cfg.metric == "ms-ssim":  # too small for MS-SSIM: left out of validation
            self.val_images = [v for v in self.val_images if min(v.shape[-2:]) >= MSSSIM_MIN_SIDE]
        if cfg.steps is not None:
            self.total = int(cfg.steps)
        else:
            self.total = steps_for_epochs(cfg.epochs if cfg.epochs is not None else 1.0, len(files), cfg.batch, self.dist.world)
        if self.total < 1:
            raise LicError("training needs at least one step")

        named = list(self.codec.named_parameters())
        main = [(n, p) for n, p in named if p.requires_grad and not n.endswith("quantiles")]
        aux = [(n, p) for n, p in named if p.requires_grad and n.endswith("quantiles")]
        self.aux_names = [n for n, _ in aux]
        self.main_params, self.aux_params = [p for _, p in main], [p for _, p in aux]
        new = set(fresh) if cfg.fresh_lr is not None else set()  # a warm start's new parts: their own LR
        groups = [
            {"params": [p for n, p in main if n not in new], "base_lr": cfg.lr},
            {"params": [p for n, p in main if n in new], "base_lr": cfg.fresh_lr},
        ]
        self.optimizers = {"main": torch.optim.Adam([g for g in groups if g["params"]], lr=cfg.lr)}
        if aux:
            self.optimizers["aux"] = torch.optim.Adam(self.aux_params, lr=cfg.aux_lr)
        try:
            self.lr_schedule: LRSchedule = parse_schedule(cfg.schedule)
        except ValueError as exc:
            raise LicError(f"--schedule: {exc}") from None
        try:
            self.rate_weight: RateWeight | None = (
                parse_rate_weight(cfg.rate_weight, self.lr_schedule) if cfg.rate_weight else None
            )
        except ValueError as exc:
            raise LicError(f"--rate-weight: {exc}") from None
        self.scaler = torch.amp.GradScaler("cuda", enabled=cfg.amp == "fp16")

        objective = _Objective(self.codec, cfg.lmbda, cfg.metric)
        if self.dist.enabled:
            from torch.nn.parallel import DistributedDataParallel as DDP

            DDP._set_params_and_buffers_to_ignore_for_model(objective, [f"codec.{n}" for n in self.aux_names])
            objective = DDP(
                objective,
                device_ids=[self.dist.local_rank] if self.device.type == "cuda" else None,
                forward_sync_buffers=False,  # buffers (CDF tables) are not trained
                find_unused_parameters=len(self.codec.losses) > 0,
            )
        self.objective = torch.compile(objective) if cfg.compile else objective

        self.step = 0
        torch.manual_seed(cfg.seed * 1_000_003 + self.dist.rank + 1)  # per-rank noise stream
        if cfg.resume:
            if self.state_path.is_file():
                self._resume()
            elif self.dist.is_main:
                print(f"lic train: no state at {self.state_path}; starting from step 0")

    # -- state -------------------------------------------------------------------------------
    def _identity(self) -> dict[str, Any]:
        c = self.cfg
        return {"recipe": self.codec.recipe, "lmbda": c.lmbda, "metric": c.metric, "batch": c.batch,
                "patch": c.patch, "seed": c.seed, "init": c.init, "train_only": c.train_only, "world": self.dist.world, "total": self.total,
                "rate_weight": self.rate_weight.to_dict() if self.rate_weight else None}  # fmt: skip

    def _rank_rng(self) -> dict[str, Tensor]:
        states = {"torch": torch.get_rng_state()}
        if self.device.type == "cuda":
            states["cuda"] = torch.cuda.get_rng_state(self.device)
        out = {}
        for key, s in states.items():
            gathered = D.all_gather(s.to(self.device) if self.device.type == "cuda" else s, self.dist)
            out.update({f"rng.rank{r}.{key}": g.cpu() for r, g in enumerate(gathered)})
        return out

    def save_state(self) -> Path | None:
        rank_rng = self._rank_rng()  # a collective: every rank takes part
        if not self.dist.is_main:
            return None
        extra = {"identity": self._identity(), "scaler": self.scaler.state_dict() if self.scaler.is_enabled() else None}
        return save_state(self.state_path, self.codec, self.optimizers, self.step, extra, rank_rng)

    def _resume(self) -> None:
        _, meta = read_state(self.state_path)
        saved, now = meta["extra"].get("identity"), json.loads(json.dumps(self._identity()))
        if not isinstance(saved, dict):
            raise LicError(f"cannot resume from {self.state_path}: its state records no run identity")
        diff = [k for k in now if k != "total" and saved.get(k) != now[k]]
        if diff:
            raise LicError(f"cannot resume from {self.state_path}: {', '.join(diff)} differ from this run")
        meta = restore_state(self.state_path, self.codec, self.optimizers)
        rng = meta["extra_tensors"]
        try:
            torch.set_rng_state(torch_rng_tensor(rng, f"rng.rank{self.dist.rank}.torch"))
        except LicError as exc:
            raise LicError(f"cannot resume from {self.state_path}: {exc}") from None
        if self.device.type == "cuda" and f"rng.rank{self.dist.rank}.cuda" in rng:
            torch.cuda.set_rng_state(rng[f"rng.rank{self.dist.rank}.cuda"], self.device)
        if meta["extra"].get("scaler"):
            self.scaler.load_state_dict(meta["extra"]["scaler"])
        self.step = int(meta["step"])
        if self.dist.is_main:
            print(f"lic train: resumed from {self.state_path} at step {self.step}/{self.total}")

    # -- one step --------------------------------------------------------------------------
    def _set_lr(self) -> float:
        factor = self.lr_schedule.factor(self.step / self.total)
        for group in self.optimizers["main"].param_groups:
            group["lr"] = group["base_lr"] * factor
        return self.cfg.lr * factor

    def train_step(self, x: Tensor) -> dict[str, float]:
        cfg = self.cfg
        progress = self.step / self.total
        weights = [float(t.weight_at(progress)) for t in self.codec.losses]
        rate_weight = self.rate_weight.factor(progress) if self.rate_weight else 1.0
        lr = self._set_lr()
        main = self.optimizers["main"]
        main.zero_grad(set_to_none=True)
        with torch.autocast(self.device.type, dtype=AMP_DTYPES.get(cfg.amp or "", torch.float32), enabled=cfg.amp is not None):
            loss, parts = self.objective(x, weights, rate_weight)
        if not torch.isfinite(loss):
            raise LicError(f"loss is {loss.item()} at step {self.step}; lower --lr or check the data")
        self.scaler.scale(loss).backward()
        self.scaler.unscale_(main)
        grad_norm = torch.nn.utils.clip_grad_norm_(self.main_params, cfg.clip) if cfg.clip > 0 else torch.tensor(0.0)
        self.scaler.step(main)
        self.scaler.update()

        aux_loss = torch.zeros((), device=self.device)
        if "aux" in self.optimizers:
            aux = self.optimizers["aux"]
            aux.zero_grad(set_to_none=True)
            aux_loss = self.codec.aux_loss()
            aux_loss.backward()
            if self.dist.enabled:
                for p in self.aux_params:
                    D.all_reduce_mean(p.grad, self.dist)
            aux.step()
        self.step += 1
        record = {k: v.detach().float() for k, v in parts.items() if v.ndim == 0}
        record.update(aux_loss=aux_loss.detach().float(), grad_norm=grad_norm.detach().float())
        if self.rate_weight:
            record["rate_weight"] = torch.tensor(rate_weight, device=self.device)
        return {"lr": lr, **{k: v for k, v in record.items()}}

    # -- validation --------------------------------------------------------------------------
    @torch.no_grad()
    def validate(self) -> dict[str, float]:
        """Estimated bpp, coded bpp (through the ``.lic`` container), PSNR and RD loss on the
        held-out images (main rank only); images are padded as the container pads them and
        measured on their own pixels."""
        from lic_core.imagecodec import compress_image
        from lic_core.imageio import crop, pad

        codec = self.codec
        codec.eval()
        try:
            codec.update(force=True)
            rows = []
            for x in self.val_images:
                out = codec(pad(x, int(codec.stride))[0])
                x_hat = crop(out["x_hat"], *x.shape[-2:]).clamp(0, 1)
                parts = rate_distortion(x, {**out, "x_hat": x_hat}, self.cfg.lmbda, self.cfg.metric)
                data = compress_image(codec, x)
                pixels = x.shape[-2] * x.shape[-1]
                rows.append({"bpp": parts["bpp"].item(), "coded_bpp": len(data) * 8 / pixels,
                             "psnr": parts["psnr"].item(), "rd_loss": parts["loss"].item()})  # fmt: skip
        finally:
            codec.train()
        return {k: sum(r[k] for r in rows) / len(rows) for k in rows[0]} if rows else {}

    # -- the loop ----------------------------------------------------------------------------
    def _log(self, record: Mapping[str, Any]) -> None:
        if self.dist.is_main:
            self.log_path.parent.mkdir(parents=True, exist_ok=True)
            with self.log_path.open("a") as f:
                f.write(json.dumps(record) + "\n")

    def _loader(self, until: int):
        from torch.utils.data import DataLoader

        sampler = StepBatches(self.cfg.batch, self.step, until, self.dist.rank, self.dist.world)
        # a private generator: creating the iterator must not draw from the global RNG
        generator = torch.Generator().manual_seed(self.cfg.seed)
        return DataLoader(self.stream, batch_sampler=sampler, num_workers=self.cfg.workers, generator=generator,
                          pin_memory=self.device.type == "cuda")  # fmt: skip

    def run(self, until: int | None = None) -> dict[str, Any]:
        """Train up to step ``until`` (default: the end); at the end write the coding checkpoint."""
        cfg = self.cfg
        stop = self.total if until is None else min(int(until), self.total)
        bar = None
        if self.dist.is_main and cfg.progress:
            from tqdm import tqdm

            bar = tqdm(total=self.total, initial=self.step, desc=f"train {self.recipe_name}", dynamic_ncols=True)
        if self.step == 0:
            self._log({"event": "start", "config": {k: v for k, v in cfg.to_dict().items() if k != "recipe"},
                       "recipe": self.codec.recipe, "total": self.total, "world": self.dist.world,
                       "images": len(self.stream), "val_images": len(self.val_images)})  # fmt: skip
            if self.val_images:
                self._log({"event": "val", "step": 0, **self.validate()})
        else:  # records after this one supersede any of a later step left by the interrupted run
            self._log({"event": "resume", "step": self.step, "total": self.total})
        start, last = time.perf_counter(), {}
        for batch in self._loader(stop):
            x = batch.to(self.device, non_blocking=True)
            record = self.train_step(x)
            step = self.step
            if step % cfg.log_every == 0 or step == stop or step == 1:
                values = torch.stack([record[k] for k in record if k != "lr"])
                values = D.all_reduce_mean(values, self.dist).tolist()
                last = {"step": step, "lr": record["lr"], **dict(zip([k for k in record if k != "lr"], values))}
                last["elapsed"] = time.perf_counter() - start
                self._log({"event": "train", **last})
                if bar is not None:
                    bar.set_postfix(loss=f"{last['total']:.4f}", bpp=f"{last['bpp']:.3f}", psnr=f"{last['psnr']:.2f}")
            if bar is not None:
                bar.update(1)
            if self.val_images and (step % cfg.val_every == 0 or step == self.total):
                val = self.validate()
                self._log({"event": "val", "step": step, **val})
                if bar is not None:
                    bar.write(f"step {step}: val rd_loss {val['rd_loss']:.4f} bpp {val['bpp']:.4f} "
                              f"(coded {val['coded_bpp']:.4f}) psnr {val['psnr']:.2f}")  # fmt: skip
            if step % cfg.ckpt_every == 0 and step != stop:
                self.save_state()
        if bar is not None:
            bar.close()
        self.save_state()
        result: dict[str, Any] = {"step": self.step, "total": self.total, "state": str(self.state_path), "last": last}
        if self.step >= self.total and self.dist.is_main:
            result["checkpoint"] = str(self.save_coding_checkpoint())
        D.barrier(self.dist)
        return result

    def save_coding_checkpoint(self) -> Path:
        """CDF tables updated, training-only modules dropped, metadata with lambda/metric/step."""
        from lic_core.checkpoint import save_codec

        self.codec.eval()
        self.codec.update(force=True)
        self.out.parent.mkdir(parents=True, exist_ok=True)
        save_codec(self.codec, self.out, lmbda=self.cfg.lmbda, metric=self.cfg.metric, step=self.step)
        self.codec.train()
        return self.out


def train(config: TrainConfig, until: int | None = None) -> dict[str, Any]:
    """Run (or resume) one training; joins the process group when launched distributed."""
    trainer = Trainer(config)
    try:
        return trainer.run(until)
    finally:
        D.shutdown()
