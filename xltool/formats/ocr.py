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

RENDER_DPI = 200  # 10-point digits come apart from the header above them (at 150 dpi lone 0s are lost or read "o")
# RapidOCR's own options (measured in benchmarks/import_accuracy.py --ocr):
# - a text box is recognised padded to its own width: the default pads every box to 320 px, and most boxes on a
#   statistics page are one number (recognition took 3x longer);
# - one onnxruntime thread: readings already run one per core (xltool.workers), and a second thread mostly spins,
#   costing about 60% more CPU for no shorter wall time when the cores are busy.
ENGINE_OPTIONS = {"rec_img_shape": [3, 48, 48], "intra_op_num_threads": 1}
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

    return RapidOCR(**ENGINE_OPTIONS)


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
            image = pdf[n].render(scale=RENDER_DPI / 72).to_pil()
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

    pixels = np.asarray(image.convert("RGB"))
    # a scan is upright: no per-line turning; each character's box comes back to split numbers detected as one
    result, _ = _engine()(pixels, use_cls=False, return_word_box=True)
    words = []
    for box, text, _score, *chars in result or []:
        ys = [p[1] for p in box]
        xs = [p[0] for p in box]
        centre, height = (min(ys) + max(ys)) / 2, max(ys) - min(ys)
        for left, part in _apart(text, min(xs), height, *chars[:2]):
            words.append((centre, height, left, part.strip()))
    return _lines(words)


def _apart(text: str, left: float, height: float, boxes=None, chars=None) -> list[tuple[float, str]]:
    """A recognised text split where two digits stand further apart than digits of one number do: the detector
    takes a row of evenly spaced single numbers (a table's 0 0 0 0 0) for one line and the recogniser reads
    "00000". Digits of one number are about half a line height apart; cells at least a line height and a half."""
    if not boxes or not chars or len(chars) != len(boxes) or "".join(chars) != text:
        return [(left, text)]
    centres = [(b[0][0] + b[1][0]) / 2 for b in boxes]
    parts = [(left, chars[0])]
    for i in range(1, len(chars)):
        if chars[i].isdigit() and chars[i - 1].isdigit() and centres[i] - centres[i - 1] > 1.5 * height:
            parts.append((boxes[i][0][0], chars[i]))
        else:
            parts[-1] = (parts[-1][0], parts[-1][1] + chars[i])
    return parts if len(parts) > 1 else [(left, text)]


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
