"""How well `xltool import` reads real published reports, scored against careful human readings.

    python benchmarks/import_accuracy.py [SHARED_DIR] [--ocr]   # default: ../shared beside the clone

Besides the texts themselves, every report is laid out as a Word report, printed to PDF by LibreOffice and turned
back into text by each converter (benchmarks/import_variants.py: pdftotext -layout/-raw, pymupdf4llm, markitdown,
each where installed); with --ocr also scanned (150 dpi, turned 0.4°, JPEG) and read by xltool's OCR, with the
seconds per page (wall and CPU, the whole reading; the machine's load average beside them).

Sources (skipped when absent): SHARED/corpus (scraped portal pages, readings.json = every Table 三/四 cell read by
hand) and SHARED/seeds (one cell per line, transcribed in tests/seed_data.py). For each report:

- cells: right / wrong / unknown (an invalid entry or a missing cell; an honest unknown is better than a wrong number);
  a cell printed blank is right when read blank;
- verdict: a report whose printed tables do not add up must fail a rule; a consistent one must pass every rule
  (right), fail one (wrong) or leave one undetermined because of unknown cells (unknown);
- metadata: unit, year and form version as the report states them.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import time
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from xltool.reading import read  # noqa: E402
from xltool.values import Invalid  # noqa: E402

APPLY_ROWS = {
    "2019": [
        "apply.new", "apply.carried_in", "apply.result.public", "apply.result.partial",
        *(f"apply.result.withheld.{k}" for k in (
            "state_secret", "prohibited", "security", "third_party", "internal", "process", "enforcement_file",
            "inquiry")),
        "apply.result.unavailable.not_held", "apply.result.unavailable.needs_creation",
        "apply.result.unavailable.unclear",
        *(f"apply.result.rejected.{k}" for k in ("petition", "repeated", "publication", "mass", "confirmation")),
        "apply.result.other", "apply.result_total", "apply.carried_over",
    ],
}  # fmt: skip
APPLY_ROWS["2021"] = [
    *APPLY_ROWS["2019"][:20],
    "apply.result.other.no_correction",
    "apply.result.other.unpaid_fee",
    "apply.result.other.other",
    "apply.result_total",
    "apply.carried_over",
]
APPLY_COLUMNS = ("natural_person", "business", "research", "nonprofit", "legal_service", "other", "total")
APPEAL_COLUMNS = [
    f"appeal.{g}.{c}"
    for g in ("review", "direct", "after_review")
    for c in ("upheld", "corrected", "other", "pending", "total")
]


def expected_cells(reading: dict) -> dict[str, int | None]:
    out: dict[str, int | None] = {}
    for key, row in zip(APPLY_ROWS[reading["format"]], reading["table3"], strict=True):
        for col, v in zip(APPLY_COLUMNS, row, strict=True):
            out[f"{key}.{col}"] = v
    for key, v in zip(APPEAL_COLUMNS, reading["table4"], strict=True):
        out[key] = v
    return out


def score_cells(ret, expected: dict[str, object]) -> tuple[int, int, int, list[str]]:
    right = wrong = unknown = 0
    wrongs: list[str] = []
    for key, want in expected.items():
        got = ret.values.get(key)
        if want is None and (got is None or (isinstance(got, Invalid) and got.raw == "")):
            right += 1  # printed blank, read blank (xltool keeps a printed blank as an empty invalid entry)
        elif isinstance(got, Invalid):
            unknown += 1
        elif want is None:
            if got is None:
                right += 1
            else:
                wrong += 1
                wrongs.append(f"{key}: {got} (blank)")
        elif got is None:
            unknown += 1
        elif Decimal(str(got)) == Decimal(str(want)):
            right += 1
        else:
            wrong += 1
            wrongs.append(f"{key}: {got} != {want}")
    return right, wrong, unknown, wrongs


def verdict(ret, should_fail: set[str] | None, inconsistent: bool, tables: tuple[str, ...] = ()) -> str:
    """right / wrong / unknown; with `tables` (rule id prefixes such as T3, T4) only those rules count."""
    results = [r for r in ret.rule_results() if not tables or r.rule.id.startswith(tables)]
    failed = {r.rule.id for r in results if r.outcome == "fail" and r.rule.severity == "error"}
    undetermined = any(r.outcome == "undetermined" for r in results)
    if should_fail is not None:  # seeds: the exact rules worked out by hand
        wanted = {x for x in should_fail if not tables or x.startswith(tables)}
        return "right" if {r.rule.id for r in results if r.outcome == "fail"} == wanted else "wrong"
    if inconsistent:
        return "right" if failed else ("unknown" if undetermined else "wrong")
    return "wrong" if failed else ("unknown" if undetermined else "right")


def title_unit(path: Path) -> str:
    first = path.read_text(encoding="utf-8").splitlines()[0]
    title = first.split(":", 1)[1].strip().replace(" ", "")
    return title.split("20", 1)[0]


def main(shared: Path, with_ocr: bool = False) -> int:
    rows: list[tuple] = []
    corpus = shared / "corpus"
    if (corpus / "readings.json").exists():
        readings = json.loads((corpus / "readings.json").read_text(encoding="utf-8"))
        for name, reading in readings.items():
            path = corpus / name
            year = int(name.rsplit("_", 2)[-2])
            inconsistent = any(not x.startswith("note:") for x in reading["inconsistencies"])
            rows.append(_one(path, expected_cells(reading), None, inconsistent, title_unit(path), year,
                             reading["format"], "text"))  # fmt: skip
    seeds = shared / "seeds"
    if seeds.is_dir():
        from seed_data import SEEDS

        for sid, seed in SEEDS.items():
            path = seeds / f"{sid}.txt"
            if not path.exists():
                continue
            expected: dict[str, object] = dict(seed["values"])
            expected.update({k: None for k in seed["blank"]})
            rows.append(_one(path, expected, set(seed["expected_failures"]), None, seed["unit"], seed["year"],
                             seed["form_version"], "text"))  # fmt: skip
    rows += _converted(shared, with_ocr)
    if not rows:
        print(f"nothing to score: neither {corpus} nor {seeds} is there")
        return 0
    head = ("report", "right", "wrong", "unknown", "verdict", "verdict 三/四", "unit", "year", "form", "source fmt")
    print(" | ".join(head))
    totals: dict[str, list[int]] = {}
    for row in rows:
        name, right, wrong, unknown, verd, verd34, unit_ok, year_ok, fmt_ok, src_ok, wrongs, group = row
        print(" | ".join(map(str, (name[:40], right, wrong, unknown, verd, verd34, unit_ok, year_ok, fmt_ok,
                                   src_ok))))  # fmt: skip
        for w in wrongs[:5]:
            print(f"    wrong: {w}")
        t = totals.setdefault(group, [0] * 10)
        t[0] += right
        t[1] += wrong
        t[2] += unknown
        t[3] += verd == "right"
        t[4] += 1
        t[5] += unit_ok
        t[6] += year_ok
        t[7] += fmt_ok
        t[8] += src_ok
        t[9] += verd34 == "right"
    for group, t in totals.items():
        if t[4]:
            cells = t[0] + t[1] + t[2]
            print(
                f"{group}: cells {t[0]}/{cells} right, {t[1]} wrong, {t[2]} unknown; verdicts {t[3]}/{t[4]} right "
                f"(on the 三/四 rules alone {t[9]}/{t[4]}); "
                f"unit {t[5]}/{t[4]}, year {t[6]}/{t[4]}, form version {t[7]}/{t[4]}, source format {t[8]}/{t[4]}"
            )
    return 0


def _converted(shared: Path, with_ocr: bool) -> list[tuple]:
    """Every report (corpus readings and seeds) laid out as a Word report, turned into a PDF by LibreOffice and back
    into text by each converter (benchmarks/import_variants.py); scored on Tables 三/四 and the verdicts (the unit,
    year and form columns are those of the rendered title, not the original's)."""
    from benchmarks.import_variants import build

    readings_file = shared / "corpus" / "readings.json"
    readings = json.loads(readings_file.read_text(encoding="utf-8")) if readings_file.exists() else {}
    out = []
    ocr_pages, ocr_wall, ocr_cpu = 0, 0.0, 0.0
    for conv, items in build(shared, Path(tempfile.gettempdir()) / "xltool-variants", with_ocr).items():
        for name, path, expected, rules in items:
            reading = readings.get(name + ".txt")
            inconsistent = reading is not None and any(not x.startswith("note:") for x in reading["inconsistencies"])
            start, cpu = time.perf_counter(), time.process_time()  # process time: every onnxruntime thread
            row = _one(path, expected, rules, inconsistent, "", 0, "", "", group=conv)
            if conv == "ocr":
                import pypdfium2

                pages = len(pypdfium2.PdfDocument(str(path)))
                wall, cpu = time.perf_counter() - start, time.process_time() - cpu
                ocr_pages, ocr_wall, ocr_cpu = ocr_pages + pages, ocr_wall + wall, ocr_cpu + cpu
                print(f"ocr: {path.name}: {pages} pages, {wall / pages:.1f} s a page ({cpu / pages:.1f} s CPU)",
                      file=sys.stderr)  # fmt: skip
            out.append(row)
    if ocr_pages:  # the whole reading (render, OCR, alignment); the first report also loads the engine
        print(f"ocr: {ocr_pages} pages, {ocr_wall / ocr_pages:.1f} s a page, {ocr_cpu / ocr_pages:.1f} s CPU a page "
              f"(load average {_load()})", file=sys.stderr)  # fmt: skip
    return out


def _load() -> str:
    """The machine's load average (other programs share the cores), where the system reports one."""
    try:
        return " ".join(f"{x:.1f}" for x in os.getloadavg())
    except (AttributeError, OSError):  # Windows has no load average
        return "n/a"


def _one(path, expected, should_fail, inconsistent, unit, year, version, fmt, group=None):
    group = group or ("corpus" if should_fail is None else "seeds")
    try:
        ret = read(path)
    except Exception as exc:  # a report that cannot be read scores all unknown
        unread = f"unread ({type(exc).__name__})"
        return (path.name, 0, 0, len(expected), unread, unread, False, False, False, False, [], group)
    right, wrong, unknown, wrongs = score_cells(ret, expected)
    verd = verdict(ret, should_fail, bool(inconsistent))
    verd34 = verdict(ret, should_fail, bool(inconsistent), ("T3", "T4"))
    return (
        path.name,
        right,
        wrong,
        unknown,
        verd,
        verd34,
        ret.unit.name == unit,
        ret.year == year,
        str(ret.form.version) == str(version),
        ret.meta.get("source_format") == fmt,
        wrongs,
        group,
    )


if __name__ == "__main__":
    args = [a for a in sys.argv[1:] if a != "--ocr"]
    sys.exit(main(Path(args[0]) if args else ROOT.parent / "shared", "--ocr" in sys.argv))
