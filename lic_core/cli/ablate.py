"""``lic ablate SPEC``: fine-tune a control and every variant from the same trained ladder with one
budget, code the evaluation sets through ``.lic`` files, and report BD-rates against the control."""

from __future__ import annotations

import argparse


def register(sub) -> None:
    p = sub.add_parser(
        "ablate",
        help="equal-budget A/B comparison of components on a trained ladder",
        description="Run an ablation spec (YAML; docs/training-and-evaluation.md, 'Ablations'): for every rate "
        "point, fine-tune the control (the base recipe) and each variant (a recipe patch) with the same steps, "
        "seed and data order, code the evaluation sets through .lic files, and report per variant its BD-rate "
        "against the control, the parameters and MACs it adds and its coding times. Resumable: run the same "
        "command again after an interruption; finished runs are not redone.",
    )
    p.add_argument("spec", help="ablation spec (YAML or JSON)")
    p.add_argument("--out-dir", help="where runs and the report go (default runs/ablate/SPEC-NAME)")
    p.add_argument("--jobs", type=int, default=1, help="runs at once (default 1; on CPU, one per core)")
    p.add_argument("--threads", type=int, default=1, help="threads per run (default 1)")
    p.add_argument("--device", default="cpu", help="cpu or cuda")
    p.add_argument("--only", action="append", metavar="VARIANT",
                   help="run only these variants (repeatable; 'base' and 'control' are rows too)")
    p.add_argument("--point", action="append", metavar="POINT",
                   help="run only these rate points (repeatable; the base models' names, e.g. q1)")
    p.add_argument("--report-only", action="store_true", help="write the report from finished runs, run nothing")
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from pathlib import Path

    from lic_core.ablation.report import write_report
    from lic_core.ablation.runner import plan, run_jobs
    from lic_core.ablation.spec import AblationError, load_spec

    if args.jobs < 1 or args.threads < 1:
        raise AblationError("--jobs and --threads must be at least 1")
    spec = load_spec(args.spec)
    out = Path(args.out_dir or Path("runs") / "ablate" / spec.name)
    jobs = plan(spec, out, args.device, args.threads)
    rows = {j.variant for j in jobs}
    for option, chosen, known in (("--only", args.only, rows), ("--point", args.point, {j.point for j in jobs})):
        unknown = sorted(set(chosen or ()) - known)
        if unknown:
            raise AblationError(f"{option}: unknown name(s) {', '.join(unknown)} (known: {', '.join(sorted(known))})")
    todo = [j for j in jobs if (not args.only or j.variant in args.only) and (not args.point or j.point in args.point)]

    def say(line: str) -> None:
        print(f"lic ablate: {line}", flush=True)

    def finished(job) -> None:  # the report stays current while the ablation runs
        write_report(spec, jobs, out)

    failed = [] if args.report_only else run_jobs(todo, args.jobs, args.threads, say=say, finished=finished)
    write_report(spec, jobs, out)
    print((out / "report.md").read_text())
    print(f"wrote {out / 'report.md'}, {out / 'report.json'}, curves and plots in {out}")
    if failed:
        print(f"lic ablate: {len(failed)} run(s) failed; their output is in RUN/job.out; run again to retry", flush=True)
        return 1
    return 0
