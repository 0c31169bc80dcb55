"""The fuzz harness classifies every way a case can end, and a bounded fuzz run of streams,
checkpoints and images finds no signal, hang, allocation over the limit, internal error or
silent change (``benchmarks/fuzz.py`` is the long run)."""

from __future__ import annotations

import os
import signal
import time

import pytest
import torch

import lic_core
from lic_core import zoo
from lic_core.errors import LicError
from lic_core.testing import fuzz

TINY = {"transform": {"id": "core.gdn", "N": 16, "M": 24}, "entropy_model": {"id": "core.hyperprior", "N": 16}}


def _behave(case: fuzz.Case) -> str:
    how = case.mutation
    if how == "segfault":
        os.kill(os.getpid(), signal.SIGSEGV)
    if how == "hang":
        time.sleep(60)
    if how == "allocate":
        return str(len(bytearray(1 << 30)))
    if how == "type-error":
        raise TypeError("'int' object is not subscriptable")
    if how == "lic":
        raise LicError("a clear message")
    if how == "lic-multiline":
        raise LicError("line one\nline two")
    if how == "traceback":
        import traceback

        try:
            raise KeyError("inner")
        except KeyError:
            traceback.print_exc()
        raise LicError("fine, but a traceback was printed")
    if how == "exit":
        os._exit(3)
    return how  # the digest of the output: "same" or another


EXPECTED = {
    "segfault": "signal", "hang": "timeout", "allocate": "memory", "type-error": "internal",
    "lic": "clean", "lic-multiline": "internal", "traceback": "internal", "exit": "internal",
    "same": "unchanged", "other": "silent",
}  # fmt: skip


@pytest.mark.parametrize("per_child", [1, 4])
def test_harness_classifies_every_outcome(per_child):
    names = list(EXPECTED) * 2  # twice: a batch continues after a case that killed its child
    cases = [fuzz.Case("stream", name, b"", expected="same", silent_if_changed=True) for name in names]
    results = fuzz.run_cases(cases, _behave, workers=2, timeout=2.0, memory=256 << 20, per_child=per_child)
    assert [r.outcome for r in results] == [EXPECTED[n] for n in names]
    assert [r.case.mutation for r in results] == names
    assert all(r.seconds < 2.5 for r in results if r.outcome != "timeout")
    summary = fuzz.summarize(results)
    assert summary["outcomes"]["signal"] == 2 and summary["over_2gb"] == 2 and summary["cases"] == len(names)


@pytest.fixture(scope="module")
def default_codec():
    torch.set_num_threads(1)
    return zoo.load_codec(quality=3)


@pytest.fixture(scope="module")
def image(kodak_dir) -> torch.Tensor:
    from lic_core.imageio import read_image

    x, _ = read_image(kodak_dir / "kodim01.png")
    return x[..., 100:164, 200:264].contiguous()


def _failures(results: list[fuzz.Result]) -> list[str]:
    return [f"{r.outcome}: {r.case.mutation}: {r.message}" for r in results if r.outcome in fuzz.FAILURES]


def test_stream_fuzz_default_codec(default_codec, image):
    """Random and structure-aware mutations of a 64x64 stream of the default codec, and the
    stream decoded by another model: one-line errors or the unchanged image, nothing else."""
    from lic_core.imagecodec import compress_image, decode

    data = compress_image(default_codec, image)
    x_hat, header = decode(data, default_codec)
    expected = fuzz.digest(x_hat, header.channels, header.bit_depth)
    cases = fuzz.StreamMutator(data, seed=27).cases(240, expected)
    other = zoo.load_codec(quality=1)
    cases.append(fuzz.Case("stream", "cross-model", data, expected, True, target="other"))
    run = fuzz.stream_runner({"": default_codec, "other": other})
    results = fuzz.run_cases(cases, run, workers=1, per_child=40)
    assert _failures(results) == []
    outcomes = fuzz.summarize(results)["outcomes"]
    assert outcomes["clean"] > 200  # the mutations were not all harmless
    assert results[-1].outcome == "clean" and "other weights" in results[-1].message


def test_checkpoint_and_image_fuzz(tmp_path):
    torch.manual_seed(0)
    codec = lic_core.compose(TINY).eval()
    codec.update(force=True)
    codec.save(tmp_path / "tiny.safetensors")
    data = (tmp_path / "tiny.safetensors").read_bytes()
    x = torch.rand(1, 3, 64, 64, generator=torch.Generator().manual_seed(1))
    run = fuzz.checkpoint_runner(x)
    expected = run(fuzz.Case("checkpoint", "unmutated", data))
    results = fuzz.run_cases(fuzz.checkpoint_cases(data, 60, seed=27, expected=expected), run, per_child=30)
    results += fuzz.run_cases(fuzz.image_cases(60, seed=27), fuzz.read_image_case, per_child=60)
    assert _failures(results) == []
    assert fuzz.summarize(results)["by_kind"]["checkpoint"]["clean"] > 20
