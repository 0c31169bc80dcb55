"""``lic compress`` and ``lic decompress``: images to ``.lic`` files and back."""

from __future__ import annotations

import argparse


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("compress", help="compress an image to a .lic file", description="Compress an image to a .lic file.")
    p.add_argument("image", help="input image (PNG, JPEG, ...; alpha is dropped, grayscale is kept)")
    p.add_argument("-o", "--output", required=True, help="output .lic file")
    p.add_argument("--model", required=True, metavar="CKPT", help="lic checkpoint (.safetensors) to code with")
    p.add_argument("--device", default="cpu", help="torch device (default: cpu)")
    p.set_defaults(handler=compress)

    p = sub.add_parser("decompress", help="decompress a .lic file to PNG", description="Decompress a .lic file to a PNG image.")
    p.add_argument("stream", metavar="IN.lic", help="input .lic file")
    p.add_argument("-o", "--output", required=True, help="output PNG file")
    p.add_argument("--model", metavar="CKPT", help="the checkpoint the stream was encoded with")
    p.add_argument("--device", default="cpu", help="torch device (default: cpu)")
    p.set_defaults(handler=decompress)


def compress(args: argparse.Namespace) -> int:
    from lic_core.checkpoint import load
    from lic_core.imagecodec import compress_file

    codec = load(args.model, device=args.device)
    result = compress_file(codec, args.image, args.output)
    note = " (alpha channel dropped)" if result.alpha_dropped else ""
    print(f"{result.path}: {result.bytes} bytes, {result.bpp:.4f} bpp, {result.width}x{result.height}{note}")
    return 0


def decompress(args: argparse.Namespace) -> int:
    from lic_core.checkpoint import load
    from lic_core.imagecodec import decompress_file

    codec = load(args.model, device=args.device) if args.model else None
    header = decompress_file(args.stream, args.output, codec)
    mode = {1: "gray", 3: "RGB"}[header.channels]
    print(f"{args.output}: {header.width}x{header.height} {mode}, {header.bit_depth}-bit PNG")
    return 0
