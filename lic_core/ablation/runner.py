"""Plan and run an ablation: one job per (variant, rate point), several at once, each in its own
process with its own thread count; finished jobs are skipped, interrupted ones resume.

Layout of ``OUT``::

    OUT/spec.json                      the specification as read
    OUT/data/train/                    the training images (links), checked disjoint from eval
    OUT/runs/VARIANT/POINT/            job.json, recipe.json, model + state + log, result.json
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Callable

from lic_core.ablation.job import JOB, RESULT, _write_json
from lic_core.ablation.spec import BASE, AblationError, AblationSpec


@dataclass(frozen=True)
class Job:
    variant: str
    point: str
    dir: Path

    @property
    def done(self) -> bool:
        return (self.dir / RESULT).is_file()


def _training_images(spec: AblationSpec, out: Path) -> Path:
    """A folder of links to every training image, refused if it shares a file with an eval set."""
    files = [f.resolve() for s in spec.data for f in s.files(recursive=True)]
    held_out = {f.resolve() for s in spec.eval.values() for f in s.files(recursive=False)}
    shared = sorted(set(files) & held_out)
    if shared:
        raise AblationError(f"{len(shared)} evaluation images are in the training data (e.g. {shared[0].name})")
    folder = out / "data" / "train"
    folder.mkdir(parents=True, exist_ok=True)
    wanted = {f"{i:05d}_{f.name}": f for i, f in enumerate(files)}
    for name in os.listdir(folder):
        if name not in wanted or os.path.realpath(folder / name) != str(wanted[name]):
            (folder / name).unlink()
    for name, target in wanted.items():
        if not (folder / name).exists():
            (folder / name).symlink_to(target)
    return folder


def plan(spec: AblationSpec, out: Path, device: str = "cpu", threads: int = 1) -> list[Job]:
    """Write each job's directory (``job.json``, ``recipe.json``); a directory left by a run
    with other settings is refused rather than mixed. Jobs come rate point by rate point, so an
    ablation cut short has every row on the same points (and BD-rates once two are done)."""
    out.mkdir(parents=True, exist_ok=True)
    _write_json(out / "spec.json", spec.source)
    train_dir = _training_images(spec, out)
    evals = {name: [str(f) for f in s.files(recursive=False)] for name, s in spec.eval.items()}
    jobs = []
    for point in spec.points:
        for variant in (BASE, *spec.variants):
            run = out / "runs" / variant / point.name
            identity = spec.identity(variant, point)
            job_file = run / JOB
            if job_file.is_file():
                old = json.loads(job_file.read_text()).get("identity")
                if old != identity:
                    raise AblationError(f"{run} holds a run with other settings (identity {old}, now {identity}): "
                                        "use another --out-dir or remove it")  # fmt: skip
            run.mkdir(parents=True, exist_ok=True)
            if variant != BASE:
                _write_json(run / "recipe.json", spec.recipe(variant))
            _write_json(job_file, {"identity": identity, "variant": variant, "point": point.name, "lambda": point.lmbda,
                                   "checkpoint": point.checkpoint, "budget": asdict(spec.budget), "train_dir": str(train_dir),
                                   "eval": evals, "device": device, "threads": threads})  # fmt: skip
            jobs.append(Job(variant, point.name, run))
    return jobs


def run_jobs(
    jobs: list[Job], parallel: int = 1, threads: int = 1, say: Callable[[str], None] = print,
    finished: Callable[[Job], None] | None = None,
) -> list[Job]:  # fmt: skip
    """Run the unfinished jobs, ``parallel`` at a time; returns the jobs that failed.
    ``finished(job)`` is called after each successful job, one call at a time (the CLI rewrites
    the report there, so an ablation cut short has an up-to-date one)."""
    todo = [j for j in jobs if not j.done]
    if len(todo) < len(jobs):
        say(f"{len(jobs) - len(todo)} of {len(jobs)} runs already finished: not redone")
    env = {**os.environ, "OMP_NUM_THREADS": str(threads), "MKL_NUM_THREADS": str(threads)}
    failed: list[Job] = []
    lock = threading.Lock()
    _say = say

    def say(line: str) -> None:  # one whole line at a time from the pool's threads
        with lock:
            _say(line)

    def one(job: Job) -> None:
        say(f"start {job.variant}/{job.point}")
        start = time.perf_counter()
        with open(job.dir / "job.out", "ab") as log:
            rc = subprocess.call([sys.executable, "-m", "lic_core.ablation.job", str(job.dir)], stdout=log,
                                 stderr=subprocess.STDOUT, env=env)  # fmt: skip
        minutes = (time.perf_counter() - start) / 60
        if rc == 0 and job.done:
            say(f"done  {job.variant}/{job.point} ({minutes:.1f} min)")
            if finished is not None:
                with lock:
                    finished(job)
        else:
            failed.append(job)
            last = (job.dir / "job.out").read_text(errors="replace").strip().splitlines()[-1:] or ["no output"]
            say(f"FAILED {job.variant}/{job.point} (exit {rc}, {minutes:.1f} min): {last[0][:200]}")

    with ThreadPoolExecutor(max_workers=max(1, parallel)) as pool:
        list(pool.map(one, todo))
    return failed
