"""``lic compress`` and ``lic decompress``: images to ``.lic`` files and back."""

from __future__ import annotations

import argparse

from lic_core.budget import add_option, apply_option


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("compress", help="compress an image to a .lic file", description="Compress an image to a .lic file.")
    p.add_argument("image", help="input image (PNG, JPEG, TIFF, ...; alpha is dropped, grayscale and 16 bits are kept, "
                   "EXIF orientation is applied; one frame only: see docs/bitstream.md)")
    p.add_argument("-o", "--output", required=True,
                   help="output .lic file (a regular file, replaced if it exists; never the input)")
    model = p.add_mutually_exclusive_group()
    model.add_argument("--model", metavar="CKPT|ID", help="checkpoint (.safetensors) or shipped model id (lic models list)")
    model.add_argument("--quality", type=int, metavar="Q",
                       help="rate point of the default codec, 1 (smallest files) to the number of shipped points "
                       "(default: the point `lic models list` marks as default)")
    p.add_argument("--device", default="cpu", help="torch device (default: cpu)")
    add_option(p)
    p.set_defaults(handler=compress)

    p = sub.add_parser("decompress", help="decompress a .lic file to PNG", description="Decompress a .lic file to a PNG image.")
    p.add_argument("stream", metavar="IN.lic", help="input .lic file")
    p.add_argument("-o", "--output", required=True,
                   help="output PNG file (a regular file, replaced if it exists; never the input)")
    p.add_argument("--model", metavar="CKPT|ID", help="the checkpoint the stream was encoded with "
                   "(default: the shipped model its header names)")
    p.add_argument("--device", default="cpu", help="torch device (default: cpu)")
    add_option(p)
    p.set_defaults(handler=decompress)


def compress(args: argparse.Namespace) -> int:
    from lic_core.atomic import check_output
    from lic_core.imagecodec import compress_file
    from lic_core.zoo import load_codec

    check_output(args.output, inputs=(args.image, args.model))  # before the model loads or anything is written
    apply_option(args)
    codec = load_codec(args.model, args.quality, device=args.device)
    result = compress_file(codec, args.image, args.output)
    note = " (alpha channel dropped)" if result.alpha_dropped else ""
    model = f" with {codec.model_id}" if getattr(codec, "model_id", None) else ""
    print(f"{result.path}: {result.bytes} bytes, {result.bpp:.4f} bpp, {result.width}x{result.height}{model}{note}")
    return 0


def decompress(args: argparse.Namespace) -> int:
    from lic_core.atomic import check_output
    from lic_core.imagecodec import decompress_file
    from lic_core.zoo import load_codec

    check_output(args.output, inputs=(args.stream, args.model))
    apply_option(args)
    codec = load_codec(args.model, device=args.device) if args.model else None
    header = decompress_file(args.stream, args.output, codec)
    mode = {1: "gray", 3: "RGB"}[header.channels]
    print(f"{args.output}: {header.width}x{header.height} {mode}, {header.bit_depth}-bit PNG")
    return 0
