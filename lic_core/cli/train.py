"""``lic train RECIPE --data DIR --lambda L ...``: train any composed codec (one process,
``--nproc K`` processes, or under ``torchrun``)."""

from __future__ import annotations

import argparse
import os


def register(sub) -> None:
    p = sub.add_parser(
        "train",
        help="train a codec from a recipe",
        description="Train a composed codec: rate-distortion loss plus the recipe's loss terms, "
        "exact resume, DDP with --nproc or torchrun. Writes a coding checkpoint at the end.",
    )
    p.add_argument("recipe", help="recipe name (lic recipes list) or YAML/JSON file")
    p.add_argument("--data", required=True, help="folder of training images (searched recursively)")
    p.add_argument("--lambda", dest="lmbda", type=float, required=True, help="rate-distortion trade-off")
    p.add_argument("--metric", choices=("mse", "ms-ssim"), default="mse")
    length = p.add_mutually_exclusive_group()
    length.add_argument("--steps", type=int, help="optimizer steps")
    length.add_argument("--epochs", type=float, help="passes over the data (default 1)")
    p.add_argument("--batch", type=int, default=8, help="patches per step and process (default 8)")
    p.add_argument("--patch", type=int, default=256, help="square crop size (default 256)")
    p.add_argument("--lr", type=float, default=1e-4, help="learning rate (default 1e-4)")
    p.add_argument("--aux-lr", type=float, default=1e-3, help="learning rate of the quantiles' optimizer")
    p.add_argument("--clip", type=float, default=1.0, help="gradient-norm clipping, 0 to disable (default 1)")
    p.add_argument("--schedule", default="cosine",
                   help="LR schedule: cosine | step | constant, options after ':' (step:milestones=0.8+0.95,gamma=0.1)")
    p.add_argument("--rate-weight", metavar="W[:until=F|lr-drop]",
                   help="rate-weight warm-up: the bpp term is multiplied by W until a fraction F of training or "
                   "the step schedule's first LR drop (default lr-drop), then by 1; e.g. 0.3:until=lr-drop")
    p.add_argument("--out", help="coding checkpoint to write (default RECIPE-METRIC-LAMBDA.safetensors)")
    p.add_argument("--state", help="training-state file (default OUT with .state.safetensors)")
    p.add_argument("--resume", action="store_true", help="continue from the training-state file")
    p.add_argument("--init", metavar="CKPT|ID",
                   help="start from this coding checkpoint or shipped model of the same recipe (fine-tune, "
                   "e.g. to another lambda)")
    p.add_argument("--init-matching", action="store_true",
                   help="with --init from another recipe: load the tensors whose names and shapes match "
                   "(warm start), the rest start fresh")
    p.add_argument("--fresh-lr", type=float, metavar="LR",
                   help="with --init-matching: the learning rate of the parameters that start fresh (default --lr)")
    p.add_argument("--train-only", metavar="MODULE", action="append",
                   help="train only the parameters under this module path (repeatable), e.g. prepost.0: "
                   "the rest stay as loaded (fine-tune one stage of a trained codec)")
    p.add_argument("--device", default="cpu", help="cpu or cuda")
    p.add_argument("--nproc", type=int, default=1, help="processes (DDP; gloo on CPU, NCCL on CUDA)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--val-dir", help="held-out images (default: the last --val-count of --data)")
    p.add_argument("--val-every", type=int, default=1000, help="validate every N steps (and at the end)")
    p.add_argument("--val-count", type=int, default=4, help="validation images (0: no validation)")
    p.add_argument("--val-crop", type=int, default=256, help="center crop of validation images")
    p.add_argument("--ckpt-every", type=int, default=1000, help="save the training state every N steps")
    p.add_argument("--log", help="JSON-lines log (default OUT with .log.jsonl)")
    p.add_argument("--log-every", type=int, default=10)
    p.add_argument("--amp", choices=("bf16", "fp16"), help="mixed precision: bf16 (CUDA or CPU), fp16 (CUDA)")
    p.add_argument("--compile", action="store_true", help="torch.compile the model (also on CPU, where it needs a C++ compiler)")
    p.add_argument("--workers", type=int, default=2, help="data-loading processes (default 2)")
    p.add_argument("--small", choices=("upscale", "pad"), default="upscale",
                   help="images smaller than the patch: bicubic upscale or reflect padding")
    p.add_argument("--no-progress", dest="progress", action="store_false", help="no progress bar")
    p.set_defaults(handler=run)


def check_paths(args: argparse.Namespace) -> None:
    """Before training starts: --out, --state and --log are regular files, three different
    ones, and none is the recipe file or the --init checkpoint (see lic_core.atomic)."""
    from lic_core.atomic import check_output
    from lic_core.errors import LicError

    given = {flag: path for flag, path in (("--out", args.out), ("--state", args.state), ("--log", args.log)) if path is not None}
    inputs = [args.init, args.recipe if os.path.isfile(args.recipe) else None]
    for flag, path in given.items():
        others = {f: p for f, p in given.items() if f != flag}
        for other_flag, other in others.items():
            if os.path.abspath(path) == os.path.abspath(other):
                raise LicError(f"{flag} and {other_flag} both name {path}: give different files")
        check_output(path, inputs=[*inputs, *others.values()], missing_dir_ok=True)  # training makes it


def run(args: argparse.Namespace) -> int:
    from lic_core.training import distributed
    from lic_core.training.trainer import TrainConfig, train

    check_paths(args)
    options = {k: v for k, v in vars(args).items() if k not in ("command", "handler", "nproc")}
    if options.get("recipe") and os.path.isfile(options["recipe"]):
        options["recipe"] = os.path.abspath(options["recipe"])
    config = TrainConfig.from_dict(options)
    if args.nproc > 1 and "WORLD_SIZE" not in os.environ:
        return distributed.launch(config.to_dict(), args.nproc)
    result = train(config)
    if "checkpoint" in result:
        print(f"wrote {result['checkpoint']} (training state {result['state']})")
    return 0
