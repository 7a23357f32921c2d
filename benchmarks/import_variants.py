"""What common converters make of a report's PDF: the material `import_accuracy.py` scores per converter.

    python benchmarks/import_variants.py [SHARED_DIR] [OUT_DIR]     # default OUT_DIR: /tmp/xltool-variants

Each report with a human reading (SHARED/corpus/readings.json, SHARED/seeds via tests/seed_data.py) is laid out as a
Word report by the test renderer (tests/report_fixtures.py: real merged headers), turned into a PDF by LibreOffice,
and turned back into text by the converters people use: `pdftotext -layout` and `-raw` (poppler-utils), pymupdf4llm
and markitdown (each skipped when not installed). Returns {converter: [(name, path, expected cells, seed rules)]}.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

CONVERTERS = ("pdftotext-layout", "pdftotext-raw", "pymupdf4llm", "markitdown")
SCAN_DPI = 150


def scan(pdf: Path, out: Path, angle: float = 0.4) -> Path:
    """An image-only copy of the PDF as a scanner makes it: its title page and the pages holding Tables 三/四,
    rendered at 150 dpi, turned by `angle` degrees, JPEG-compressed."""
    import io

    import pdfplumber
    import pypdfium2 as pdfium
    from PIL import Image

    with pdfplumber.open(pdf) as doc:
        texts = [p.extract_text() or "" for p in doc.pages]
    first = next((i for i, t in enumerate(texts) if "申请人情况" in t or "收到和处理" in t), 0)
    last = next((i for i, t in enumerate(texts) if i >= first and "五、" in t), len(texts) - 1)
    keep = sorted({0, *range(first, last + 1)})
    doc = pdfium.PdfDocument(str(pdf))
    pages = []
    for n in keep:
        img = doc[n].render(scale=SCAN_DPI / 72).to_pil().convert("L")
        img = img.rotate(angle, fillcolor=255, resample=Image.BICUBIC)
        buf = io.BytesIO()
        img.save(buf, "JPEG", quality=55)
        buf.seek(0)
        pages.append(Image.open(buf).convert("RGB"))
    doc.close()
    pages[0].save(out, "PDF", save_all=True, append_images=pages[1:], resolution=SCAN_DPI)
    return out


def reading_as_seed(name: str, reading: dict) -> dict:
    """A corpus reading in the seed transcription's shape (tables 三 and 四 only), for the report renderer."""
    from benchmarks.import_accuracy import expected_cells

    year = 2020 if reading["format"] == "2019" else 2022  # the layout the report printed (haitan 2022: the 2019 one)
    unit = name.split("_")[1]
    values = {k: v for k, v in expected_cells(reading).items() if v is not None}
    return {"unit": unit, "year": year, "values": values, "odd": {}, "extra": {}, "blank": []}


def _docx(seed_id: str, seed: dict, path: Path) -> Path:
    from tests.report_fixtures import write_docx

    return write_docx(seed_id, seed, path, variant=str)


def convert(pdf: Path, converter: str) -> str | None:
    """The PDF's text as `converter` gives it; None when that converter is not installed."""
    if converter.startswith("pdftotext"):
        if not shutil.which("pdftotext"):
            return None
        flag = "-layout" if converter.endswith("layout") else "-raw"
        return subprocess.run(["pdftotext", flag, str(pdf), "-"], capture_output=True, check=True).stdout.decode()
    if converter == "pymupdf4llm":
        try:
            import pymupdf4llm
        except ImportError:
            return None
        return pymupdf4llm.to_markdown(str(pdf))
    if converter == "markitdown":
        try:
            from markitdown import MarkItDown
        except ImportError:
            return None
        return MarkItDown().convert(str(pdf)).text_content
    raise ValueError(converter)


def build(shared: Path, out: Path, with_ocr: bool = False) -> dict[str, list[tuple[str, Path, dict, set | None]]]:
    from benchmarks.import_accuracy import expected_cells

    sys.path.insert(0, str(ROOT / "tests"))
    out.mkdir(parents=True, exist_ok=True)
    reports: list[tuple[str, dict, dict, set | None]] = []
    readings = shared / "corpus" / "readings.json"
    if readings.exists():
        for name, reading in json.loads(readings.read_text(encoding="utf-8")).items():
            reports.append((Path(name).stem, reading_as_seed(name, reading), expected_cells(reading), None))
    if (shared / "seeds").is_dir():
        from seed_data import SEEDS

        for sid, seed in SEEDS.items():
            expected = {k: v for k, v in seed["values"].items() if k.startswith(("apply.", "appeal."))}
            reports.append((sid, seed, expected, set(seed["expected_failures"])))
    missing = [name for name, *_ in reports if not (out / f"{name}.pdf").exists()]
    if missing:
        for name, seed, *_ in reports:
            if name in missing:
                _docx(name, seed, out / f"{name}.docx")
        soffice = shutil.which("soffice") or shutil.which("libreoffice")
        if soffice:
            subprocess.run(
                [soffice, "--headless", "--convert-to", "pdf", "--outdir", str(out)]
                + [str(out / f"{n}.docx") for n in missing],
                capture_output=True,
                check=False,
                timeout=600,
            )
    variants: dict[str, list] = {c: [] for c in CONVERTERS}
    for name, _, expected, rules in reports:
        pdf = out / f"{name}.pdf"
        if not pdf.exists():
            continue
        if with_ocr:  # the scan is read by xltool itself (xltool.formats.ocr)
            scanned = out / f"{name}.scan.pdf"
            if not scanned.exists():
                scan(pdf, scanned)
            variants.setdefault("ocr", []).append((name, scanned, expected, rules))
        for conv in CONVERTERS:
            path = out / f"{name}.{conv}.{'md' if conv in ('pymupdf4llm', 'markitdown') else 'txt'}"
            if not path.exists():
                text = convert(pdf, conv)
                if text is None:
                    continue
                path.write_text(text, encoding="utf-8")
            variants[conv].append((name, path, expected, rules))
    return variants


if __name__ == "__main__":
    shared = Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT.parent / "shared"
    out = Path(sys.argv[2]) if len(sys.argv) > 2 else Path("/tmp/xltool-variants")
    for conv, items in build(shared, out).items():
        print(conv, len(items))
