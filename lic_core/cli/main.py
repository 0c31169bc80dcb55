"""Entry point of the ``lic`` command: dispatches to one module per command group.

Each module in :data:`COMMANDS` defines ``register(subparsers)`` and imports torch only inside
its handlers, so ``lic plugins list`` stays light. A :class:`~lic_core.errors.LicError` (or a
bad file) becomes one line on stderr and exit code 1; ``LIC_DEBUG=1`` shows tracebacks. A reader
that closes the pipe early (``lic plugins list | head -1``) ends ``lic`` quietly with exit code
141, as a process killed by SIGPIPE would.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys

from lic_core.errors import LicError
from lic_core.version import __version__

SIGPIPE_EXIT = 128 + 13  # what a shell reports for a process killed by SIGPIPE
COMMANDS = ("plugins", "recipes", "models", "compose", "codec", "train", "evaluate", "bdrate", "bench", "scaffold", "ablate")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="lic", description="learned image compression, one plugin per component")
    parser.add_argument("--version", action="version", version=f"lic {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    for name in COMMANDS:
        try:
            module = importlib.import_module(f"lic_core.cli.{name}")
        except ModuleNotFoundError as exc:
            if exc.name == f"lic_core.cli.{name}":
                continue  # command group not built in this version
            raise
        module.register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run ``lic ARGV`` and return its exit code."""
    try:
        try:
            return _run(argv)
        finally:
            sys.stdout.flush()  # a closed pipe surfaces here, not as a traceback at interpreter exit
    except BrokenPipeError:
        _discard_stdout()
        return SIGPIPE_EXIT


def _run(argv: list[str] | None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.handler(args) or 0)
    except BrokenPipeError:
        raise  # not an error of lic's: main() ends quietly
    except KeyboardInterrupt:
        print("lic: interrupted", file=sys.stderr)
        return 130
    except (LicError, OSError) as exc:
        if os.environ.get("LIC_DEBUG"):
            raise
        print(f"lic: error: {_one_line(exc)}", file=sys.stderr)
        return 1
    except Exception as exc:  # unexpected: still one line unless debugging
        if os.environ.get("LIC_DEBUG"):
            raise
        print(f"lic: internal error: {type(exc).__name__}: {_one_line(exc)} (LIC_DEBUG=1 shows the traceback)", file=sys.stderr)
        return 2


def _discard_stdout() -> None:
    """Point stdout at devnull so Python's final flush does not fail again (the recipe in the
    ``signal`` docs, "Note on SIGPIPE"); a replaced in-process stdout has no descriptor to redirect."""
    try:
        fd = sys.stdout.fileno()
    except (AttributeError, OSError, ValueError):
        return
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, fd)
    os.close(devnull)


def _one_line(exc: BaseException) -> str:
    text = str(exc) or type(exc).__name__
    if isinstance(exc, OSError) and exc.filename and exc.strerror:
        text = f"{exc.strerror}: {exc.filename}"
    return " ".join(text.split())


if __name__ == "__main__":
    sys.exit(main())
