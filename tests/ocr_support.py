"""Images with Chinese text drawn by Pillow in Debian's WenQuanYi Zen Hei (fonts-wqy-zenhei, installed by
.ci/run), for the OCR tests and benchmarks/ocr.py. No fixture files: every image is made from its text."""

from __future__ import annotations

import io
import random
from collections.abc import Sequence
from pathlib import Path

from PIL import Image, ImageDraw, ImageFilter, ImageFont

FONT = Path("/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc")
FONT_MONO = 1  # index in the collection: WenQuanYi Zen Hei Mono, a second face


def draw_lines(lines: Sequence[str], *, size: int = 28, face: int = 0, width: int | None = None,
               noise: float = 0.0, rotate: float = 0.0, blur: float = 0.0, seed: int = 0,
               color: str = "black", background: str = "white") -> Image.Image:
    """One text line per row, left-aligned; optional speckle noise, blur and rotation (a phone photo)."""
    font = ImageFont.truetype(str(FONT), size, index=face)
    line_height = int(size * 1.8)
    text_width = max(int(font.getlength(line)) for line in lines)
    image = Image.new("RGB", (width or text_width + 2 * size, line_height * len(lines) + 2 * size), background)
    draw = ImageDraw.Draw(image)
    for i, line in enumerate(lines):
        draw.text((size, size + i * line_height), line, font=font, fill=color)
    if noise:
        rng = random.Random(seed)
        pixels = image.load()
        assert pixels is not None
        for _ in range(int(image.width * image.height * noise)):
            x, y = rng.randrange(image.width), rng.randrange(image.height)
            grey = rng.randrange(256)
            pixels[x, y] = (grey, grey, grey)
    if blur:
        image = image.filter(ImageFilter.GaussianBlur(blur))
    if rotate:
        image = image.rotate(rotate, expand=True, fillcolor=background, resample=Image.Resampling.BICUBIC)
    return image


def encode(image: Image.Image, fmt: str = "PNG", **options: object) -> bytes:
    buf = io.BytesIO()
    image.save(buf, fmt, **options)
    return buf.getvalue()


def pdf_of(pages: Sequence[Image.Image]) -> bytes:
    """A PDF with one page per image (Pillow's PDF writer)."""
    buf = io.BytesIO()
    first, *rest = [p.convert("RGB") for p in pages]
    first.save(buf, "PDF", save_all=True, append_images=rest, resolution=100.0)
    return buf.getvalue()


def char_accuracy(expected: str, got: str) -> float:
    """1 - character error rate (Levenshtein over characters, whitespace ignored), floored at 0."""
    from rapidfuzz.distance import Levenshtein

    a = "".join(expected.split())
    b = "".join(got.split())
    return max(0.0, 1 - Levenshtein.distance(a, b) / max(1, len(a)))
