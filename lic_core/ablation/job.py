"""One run of an ablation, in a process of its own: fine-tune (unless it is the ``base`` row),
then code every evaluation set through real ``.lic`` files; ``result.json`` marks it done.

``python -m lic_core.ablation.job RUN_DIR`` reads ``RUN_DIR/job.json`` (written by the
runner). Training resumes from its state file, so a killed run continues where it stopped; a
finished training (``trained.json``) is not redone when only the evaluation was interrupted.
A run holds an exclusive lock on ``RUN_DIR/lock`` while it works, so a second ablation process
(say, started while an orphaned run of a killed one still trains) cannot write the same files.
"""

from __future__ import annotations

import fcntl
import json
import sys
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Any

RESULT = "result.json"
TRAINED = "trained.json"
JOB = "job.json"


@contextmanager
def _locked(run: Path):
    from lic_core.ablation.spec import AblationError

    with open(run / "lock", "w") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise AblationError(f"{run} is being run by another process") from None
        yield


def _write_json(path: Path, data: Any) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(data, indent=1) + "\n")
    tmp.replace(path)


def _train(run: Path, job: dict[str, Any]) -> str:
    """The fine-tuned checkpoint (trained now, or found from an earlier, finished attempt)."""
    from lic_core.training.trainer import TrainConfig, train

    model = run / "model.safetensors"
    if (run / TRAINED).is_file() and model.is_file():
        return str(model)
    b = job["budget"]
    config = TrainConfig(
        recipe=str(run / "recipe.json"), data=job["train_dir"], lmbda=job["lambda"], steps=b["steps"], batch=b["batch"],
        patch=b["patch"], lr=b["lr"], aux_lr=b["aux_lr"], clip=b["clip"], schedule=b["schedule"],
        rate_weight=b["rate_weight"], out=str(model), resume=True, init=job["checkpoint"], init_matching=True, fresh_lr=b["fresh_lr"], device=job["device"],
        seed=b["seed"], val_count=0, ckpt_every=b["ckpt_every"], log_every=50, amp=b["amp"], compile=b["compile"],
        workers=0, progress=False,
    )  # fmt: skip
    start = time.perf_counter()
    train(config)
    _write_json(run / TRAINED, {"seconds": time.perf_counter() - start})
    return str(model)


def run_job(run: Path) -> dict[str, Any]:
    """Train and evaluate the run in ``run`` (a directory with ``job.json``)."""
    import torch

    job = json.loads((run / JOB).read_text())
    torch.set_num_threads(int(job["threads"]))
    with _locked(run):
        return _run(run, job)


def _run(run: Path, job: dict[str, Any]) -> dict[str, Any]:
    from lic_core.checkpoint import load
    from lic_core.evaluation.codec_eval import evaluate_codec
    from lic_core.evaluation.macs import macs_per_pixel
    from lic_core.evaluation.report import summarize
    from lic_core.zoo import checkpoint_path

    checkpoint = checkpoint_path(job["checkpoint"]) if job["variant"] == "base" else _train(run, job)
    trained = json.loads((run / TRAINED).read_text()) if (run / TRAINED).is_file() else {"seconds": 0.0}
    start = time.perf_counter()
    codec = load(checkpoint, device=job["device"])
    sets = {}
    for name, files in job["eval"].items():
        rows = evaluate_codec(codec, [Path(f) for f in files])
        sets[name] = {"mean": summarize(rows), "images": rows}
    result = {
        "identity": job["identity"], "variant": job["variant"], "point": job["point"], "lambda": job["lambda"],
        "checkpoint": job["checkpoint"] if job["variant"] == "base" else "model.safetensors",  # no machine paths
        "train_seconds": trained["seconds"], "eval_seconds": time.perf_counter() - start,
        "parameters": codec.num_parameters(), "macs_per_pixel": macs_per_pixel(codec), "eval": sets,
    }  # fmt: skip
    _write_json(run / RESULT, result)
    return result


if __name__ == "__main__":
    from lic_core.errors import LicError

    try:
        run_job(Path(sys.argv[1]))
    except LicError as exc:
        print(f"lic ablate: error: {' '.join(str(exc).split())}", file=sys.stderr)
        sys.exit(1)
