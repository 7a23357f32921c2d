"""Published reports are bounded before the work is done (TOO-LARGE early, with little memory), and refused or
listed with the right code: encrypted PDFs, GBK reports with a few bad bytes, plain wide tables, macro documents in a
folder, link loops, and a worker that ran out of memory."""

from __future__ import annotations

import os
import zlib
from pathlib import Path

import pytest

from tests import fake_tasks
from tests.test_import_pdf import minimal_pdf
from xltool import workers
from xltool.codes import Code
from xltool.discover import scan
from xltool.formats import _report
from xltool.reading import read
from xltool.sources import ReadError

SEED = Path(__file__).parent / "fixtures" / "seeds" / "000_f7ae2b9bd63a851c.txt"
ENCRYPTED_PDF = Path(__file__).parent / "fixtures" / "pdf" / "encrypted.pdf"  # LibreOffice, open password "secret"


def _code(path: Path) -> str:
    with pytest.raises(ReadError) as caught:
        read(path)
    return caught.value.code


# --- PDF ---------------------------------------------------------------------------------------------------------


def test_an_encrypted_pdf_is_encrypted_not_corrupt():
    """A PDF with an open password gets ENCRYPTED, the code an encrypted workbook gets."""
    assert _code(ENCRYPTED_PDF) == Code.ENCRYPTED


def _flate_pdf(content: bytes) -> bytes:
    """A one-page PDF whose content stream is FlateDecode-compressed."""
    packed = zlib.compress(content, 9)
    pdf = minimal_pdf(packed)
    return pdf.replace(b"<< /Length %d >>" % len(packed), b"<< /Length %d /Filter /FlateDecode >>" % len(packed))


def test_a_pdf_whose_content_inflates_past_the_limit_is_too_large(tmp_path):
    """A small PDF whose page content inflates to 20 MB is refused as TOO-LARGE before pdfminer inflates it."""
    bomb = tmp_path / "bomb.pdf"
    bomb.write_bytes(_flate_pdf(b" " * (20 * 1024 * 1024)))
    assert bomb.stat().st_size < 100 * 1024
    assert _code(bomb) == Code.TOO_LARGE


def test_a_pdf_page_drawn_with_too_many_lines_is_too_large(tmp_path):
    """A page of 12,000 ruling lines (finding tables among them grows with their number): TOO-LARGE."""
    strokes = b"".join(b"%d %d m %d %d l S\n" % (x % 500, x // 25, x % 500 + 3, x // 25) for x in range(12_000))
    grid = tmp_path / "grid.pdf"
    grid.write_bytes(_flate_pdf(b"0.5 w\n" + strokes))
    assert _code(grid) == Code.TOO_LARGE


# --- text, Markdown, HTML ------------------------------------------------------------------------------------------


def test_a_text_report_past_the_size_limit_is_refused_before_decoding(tmp_path):
    """A 5 MB text file is TOO-LARGE (a text report is well under 1 MB)."""
    big = tmp_path / "big.txt"
    big.write_bytes(b"1 2 3 4 5 6 7 8\n" * (_report.MAX_TEXT_BYTES // 16 + 1))
    assert _code(big) == Code.TOO_LARGE


def test_a_markdown_row_of_thousands_of_cells_is_too_large(tmp_path):
    """20 rows of 5,000 cells each: TOO-LARGE (a statistics table row has under 20 cells)."""
    wide = tmp_path / "wide.md"
    wide.write_text("\n".join("|" + "|".join(["1"] * 5_000) + "|" for _ in range(20)), encoding="utf-8")
    assert _code(wide) == Code.TOO_LARGE


def test_a_plain_huge_html_table_is_too_large_and_not_called_a_span_bomb(tmp_path):
    """A 1000 x 1000 table without a single rowspan or colspan: TOO-LARGE, and the message does not blame merged
    cells (it has none); a plain table within the limits is read, not refused."""
    row = "<tr>" + "<td>1</td>" * 1000 + "</tr>"
    page = tmp_path / "plain.html"
    page.write_text("<html><body><table>" + row * 1000 + "</table></body></html>", encoding="utf-8")
    with pytest.raises(ReadError) as caught:
        read(page)
    assert caught.value.code == Code.TOO_LARGE
    assert "合并" not in caught.value.message and "跨度" not in caught.value.message
    page.write_text("<html><body><table>" + row * 300 + "</table></body></html>", encoding="utf-8")
    assert _code(page) == Code.NOT_A_REPORT  # read: it is simply not a report's table


PROSE = "本报告电子版可在本机关门户网站查阅，如对本报告有疑问请与本机关办公室联系。"


def test_a_gbk_report_with_three_bad_bytes_is_read_as_gbk_and_the_replacement_noted(tmp_path):
    """A GB18030 report with three stray bytes (in its prose) reads as the same report in UTF-8 does, with a note
    that three byte sequences were replaced."""
    text = SEED.read_text(encoding="utf-8") + f"\n{PROSE}\n{PROSE}\n{PROSE}\n"
    data = text.encode("gb18030")
    prose = PROSE.encode("gb18030")
    damaged = data.replace(prose, prose[:4] + b"\xff" + prose[4:])
    assert damaged.count(b"\xff") == 3
    gbk = tmp_path / "gbk.txt"
    gbk.write_bytes(damaged)
    clean = tmp_path / "utf8.txt"
    clean.write_text(text, encoding="utf-8")
    got, want = read(gbk), read(clean)
    assert got.values == want.values and got.values
    notes = [p.message for p in got.read_problems if "GB18030" in p.message]
    assert len(notes) == 1 and "3" in notes[0]


# --- folders --------------------------------------------------------------------------------------------------------


def test_a_macro_enabled_word_document_is_listed_as_ignored_with_why(tmp_path):
    """A .docm among the returns is listed as ignored, saying it is a macro-enabled document."""
    (tmp_path / "说明.docm").write_bytes(b"PK\x03\x04")
    _, ignored = scan([tmp_path])
    assert [(p.name, "宏" in why) for p, why in ignored] == [("说明.docm", True)]


@pytest.mark.skipif(not hasattr(os, "symlink") or os.name == "nt", reason="POSIX links")
def test_a_link_loop_in_a_folder_is_called_a_loop(tmp_path):
    """Links that point at each other are listed as a loop, not as a link whose target is missing."""
    (tmp_path / "a.xlsx").symlink_to(tmp_path / "b.xlsx")
    (tmp_path / "b.xlsx").symlink_to(tmp_path / "a.xlsx")
    _, ignored = scan([tmp_path])
    assert len(ignored) == 2
    assert all("循环" in why and "不存在" not in why for _, why in ignored)


@pytest.mark.skipif(not hasattr(os, "symlink") or os.name == "nt", reason="POSIX links")
def test_a_link_loop_named_on_the_command_line_is_called_a_loop(tmp_path):
    """A loop given as the file to check is refused as a loop, not as a link whose target is missing."""
    from xltool.sources import ReadError, check_size

    (tmp_path / "a.xlsx").symlink_to(tmp_path / "b.xlsx")
    (tmp_path / "b.xlsx").symlink_to(tmp_path / "a.xlsx")
    with pytest.raises(ReadError) as caught:
        check_size(tmp_path / "a.xlsx", 1 << 20, "")
    assert "循环" in str(caught.value) and "不存在" not in str(caught.value)


# --- workers ----------------------------------------------------------------------------------------------------------


def test_a_worker_whose_allocator_fails_before_a_long_backtrace_is_out_of_memory():
    """calamine under RUST_BACKTRACE=1 says 'memory allocation of N bytes failed' and then tens of KB of frames before
    it aborts: MEMORY-LIMIT (with its Chinese sentence), not a crash."""
    ((code, message),) = list(
        workers.run(fake_tasks.behave, ["native-oom-backtrace:x"], lambda item, f: (f.code, f.message), workers=1)
    )
    assert code == Code.MEMORY_LIMIT and "内存" in message


def test_an_exception_that_speaks_of_failed_allocation_is_out_of_memory():
    """A library that turns a failed allocation into its own error (libxml2: 'Memory allocation failed'): MEMORY-LIMIT,
    not an internal error."""
    failure = workers._error_failure("XMLSyntaxError: Memory allocation failed : growing buffer")
    assert failure.code == Code.MEMORY_LIMIT
