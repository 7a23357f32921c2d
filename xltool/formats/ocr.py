"""Scanned reports (PDF pages without a text layer) read by optical character recognition.

An optional extra (`pip install xltool[ocr]`): RapidOCR on onnxruntime, whose detection and recognition models ship
inside its wheel (nothing is downloaded at run time), pages rendered with pypdfium2. The recognised words are laid
out as text lines (words whose boxes share a line, left to right, cells apart by two spaces), which the text reader
and the alignment to the form (xltool.reading.align) read like any converter's text; the reading then flags each
number the table's arithmetic does not confirm, to be checked against the scan.
"""

from __future__ import annotations

import re
import time
from functools import cache

RENDER_DPI = 200  # 10-point digits come apart from the header above them; recognition takes most of the time
MAX_OCR_PAGES = 40  # the tables sit in the first pages of a report; a longer scan is read up to here
MAX_OCR_SECONDS = 45.0  # inside the worker's limit per file (xltool.workers.TIME_LIMIT): later pages are left unread
_PAST_TABLES = re.compile(r"^\s*五\s*[、.．]")  # section five follows Table 四: the pages after it hold no table


def available() -> bool:
    """Whether the `ocr` extra is installed."""
    try:
        import pypdfium2  # noqa: F401
        import rapidocr_onnxruntime  # noqa: F401
    except ImportError:
        return False
    return True


@cache
def _engine():
    from rapidocr_onnxruntime import RapidOCR

    return RapidOCR()


def pdf_lines(data: bytes) -> tuple[list[str], list[float]]:
    """The text lines of a scanned PDF's pages up to the end of Table 四 (section 五 begins) or MAX_OCR_SECONDS, and
    the seconds each page took (render and recognition)."""
    import pypdfium2 as pdfium

    pdf = pdfium.PdfDocument(data)
    lines: list[str] = []
    seconds: list[float] = []
    try:
        for n in range(min(len(pdf), MAX_OCR_PAGES)):
            start = time.perf_counter()
            image = pdf[n].render(scale=RENDER_DPI / 72).to_pil().convert("RGB")
            lines += image_lines(image)
            seconds.append(time.perf_counter() - start)
            if sum(seconds) > MAX_OCR_SECONDS or any(_PAST_TABLES.match(line) for line in lines):
                break  # the tables are read (or the time is up): the rest is prose
    finally:
        pdf.close()
    return lines, seconds


def image_lines(image) -> list[str]:
    """One picture's recognised words as text lines."""
    import numpy as np

    result, _ = _engine()(np.asarray(image), use_cls=False)  # a scan is upright: no per-line turning
    words = []
    for box, text, _score in result or []:
        ys = [p[1] for p in box]
        xs = [p[0] for p in box]
        words.append(((min(ys) + max(ys)) / 2, max(ys) - min(ys), min(xs), text.strip()))
    return _lines(words)


def _lines(words: list[tuple[float, float, float, str]]) -> list[str]:
    """Words (centre y, height, left x, text) grouped into lines: a word joins the line whose centre is within half
    its height, lines top to bottom, words left to right."""
    rows: list[list[tuple[float, float, float, str]]] = []
    for w in sorted(words):
        if rows and abs(w[0] - sum(x[0] for x in rows[-1]) / len(rows[-1])) <= max(w[1], rows[-1][0][1]) / 2:
            rows[-1].append(w)
        else:
            rows.append([w])
    return ["  ".join(w[3] for w in sorted(row, key=lambda w: w[2]) if w[3]) for row in rows]
