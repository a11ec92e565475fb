"""Offline OCR of an image or the first pages of a PDF.

RapidOCR (rapidocr-onnxruntime, Apache-2.0) carries the PP-OCRv4 detection, direction and
recognition models inside its wheel: nothing is downloaded at run time. The engine is loaded lazily,
once per process (about 0.8 s and a few hundred MB), on the first file read; `benchmarks/ocr.py`
measures time per page and memory. PDF pages are rendered with pypdfium2 (PDFium in the wheel).

Every way a file can be unreadable (not an image, truncated, a decompression bomb, an encrypted or
broken PDF) raises `OcrUnreadable` with a short reason for the log: the rep gets one clear reply.
"""

from __future__ import annotations

import threading
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PIL import Image, ImageOps

PDF_MAGIC = b"%PDF-"
IMAGE_MAGIC: tuple[bytes, ...] = (b"\xff\xd8\xff", b"\x89PNG", b"GIF8", b"BM", b"RIFF", b"II*\x00", b"MM\x00*")


class OcrUnreadable(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class FileInfo:
    kind: str  # image | pdf
    pages_total: int


def sniff(head: bytes) -> str | None:
    """image | pdf by magic bytes (never by file name), None for anything else (a .docx, a zip)."""
    if head.startswith(PDF_MAGIC):
        return "pdf"
    if any(head.startswith(m) for m in IMAGE_MAGIC) and (not head.startswith(b"RIFF") or head[8:12] == b"WEBP"):
        return "image"
    return None


def probe(path: Path, *, max_pixels: int) -> FileInfo | None:
    """What the file is and how many pages it has, cheaply (headers only: milliseconds, no decode).
    None: not an image or a PDF. Raises OcrUnreadable for a file that claims to be one and is not."""
    with path.open("rb") as f:
        kind = sniff(f.read(16))
    if kind is None:
        return None
    if kind == "pdf":
        return FileInfo("pdf", _pdf_page_count(path))
    _open_image(path, max_pixels=max_pixels, verify=True)
    return FileInfo("image", 1)


def _open_image(path: Path, *, max_pixels: int, verify: bool = False) -> Image.Image:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(path)
            if image.width * image.height > max_pixels:
                raise OcrUnreadable(f"too many pixels: {image.width}x{image.height}")
            if verify:
                image.verify()  # structure and checksums; the full decode happens in the job
                return image
            image.load()
    except OcrUnreadable:
        raise
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError, Image.DecompressionBombWarning,
            EOFError) as exc:
        raise OcrUnreadable(f"image: {type(exc).__name__}") from None
    return image


def _rgb(image: Image.Image) -> Image.Image:
    image = ImageOps.exif_transpose(image)  # phone photos are stored sideways with an orientation tag
    if image.mode in ("RGBA", "LA", "P"):
        image = image.convert("RGBA")
        background = Image.new("RGB", image.size, "white")  # transparent screenshots: text on white
        background.paste(image, mask=image.getchannel("A"))
        return background
    return image.convert("RGB")


def _pdf_page_count(path: Path) -> int:
    import pypdfium2 as pdfium  # a PDF is rare: load PDFium only when one comes

    try:
        pdf = pdfium.PdfDocument(path)
    except pdfium.PdfiumError as exc:
        raise OcrUnreadable(f"pdf: {exc}"[:200]) from None
    try:
        count = len(pdf)
    finally:
        pdf.close()
    if count < 1:
        raise OcrUnreadable("pdf: no pages")
    return count


def _pdf_pages(path: Path, pages: int, scale: float, max_pixels: int) -> Iterator[Image.Image]:
    import pypdfium2 as pdfium

    try:
        pdf = pdfium.PdfDocument(path)
    except pdfium.PdfiumError as exc:
        raise OcrUnreadable(f"pdf: {exc}"[:200]) from None
    try:
        for index in range(min(pages, len(pdf))):
            page = pdf[index]
            width, height = page.get_size()
            # A huge page (a poster, a CAD sheet) is rendered smaller rather than exhausting memory.
            fit = min(scale, (max_pixels / max(1.0, width * height)) ** 0.5)
            try:
                yield page.render(scale=fit).to_pil().convert("RGB")
            except pdfium.PdfiumError as exc:
                raise OcrUnreadable(f"pdf page {index + 1}: {exc}"[:200]) from None
            finally:
                page.close()
    finally:
        pdf.close()


_engines: dict[tuple[int, int], Any] = {}
_engine_lock = threading.Lock()
DET_MAX_SIDE = 2000


def ocr_engine(threads: int, det_max_side: int = DET_MAX_SIDE) -> Any:
    """The RapidOCR engine, built once per process (and configuration) on first use.

    Detection runs on the image scaled down to `det_max_side` at most and never scaled up. RapidOCR's
    default ("min" 736) blows a small image up until its short side is 736 px: a 240x76 crop cost 1.6 s
    of CPU instead of 0.04 s, with the same text read (benchmarks/ocr.py). Large images are unchanged:
    RapidOCR caps their long side at 2000 px either way."""
    key = (threads, det_max_side)
    with _engine_lock:
        engine = _engines.get(key)
        if engine is None:
            from rapidocr_onnxruntime import RapidOCR  # heavy import: only in a process that reads files

            engine = RapidOCR(intra_op_num_threads=threads, inter_op_num_threads=1, det_limit_type="max",
                              det_limit_side_len=det_max_side)
            _engines[key] = engine
        return engine


def read_lines(image: Image.Image, *, threads: int, det_max_side: int = DET_MAX_SIDE) -> list[str]:
    """The text lines of one page image, top to bottom (RapidOCR's reading order)."""
    result, _elapsed = ocr_engine(threads, det_max_side)(_rgb(image))
    return [str(line[1]).strip() for line in result or [] if str(line[1]).strip()]


def read_file(path: Path, *, kind: str, pages: int, threads: int, pdf_scale: float, max_pixels: int,
              det_max_side: int = DET_MAX_SIDE) -> str:
    """All lines read from an image or from the first `pages` pages of a PDF, one per line (blocking)."""
    if kind == "image":
        image = _open_image(path, max_pixels=max_pixels)
        return "\n".join(read_lines(image, threads=threads, det_max_side=det_max_side))
    lines: list[str] = []
    for page in _pdf_pages(path, pages, pdf_scale, max_pixels):
        lines.extend(read_lines(page, threads=threads, det_max_side=det_max_side))
    return "\n".join(lines)
