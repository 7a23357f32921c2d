"""Open an input file safely: say what it is, or refuse it with a one-line Chinese reason.

Everything here happens before any spreadsheet parser sees the bytes: size caps, zip-bomb and XML-entity checks,
encrypted and legacy containers.
"""

from __future__ import annotations

import codecs
import io
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path

from xltool.codes import CATALOGUE, Code
from xltool.memo import Memo
from xltool.outcomes import Severity
from xltool.problems import Problem

MAX_FILE_BYTES = 50 * 1024 * 1024  # a filled return is ~30 KB; 50 MB leaves room for pictures pasted by mistake
MAX_UNZIPPED_BYTES = 300 * 1024 * 1024
MAX_RATIO = 200  # typical xlsx parts compress 5-20x; a bomb compresses 1000x
MAX_ENTRIES = 5000
PROLOG_BYTES = 64 * 1024

OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
ENCRYPTED_MARK = "EncryptedPackage".encode("utf-16-le")


class ReadError(Exception):
    """The file cannot be used at all (exit code 2): raised with a catalogued code (stable) and a message for the
    clerk; `problem` is the same as a Problem (the catalogue's severity, the file as its place when given), what the
    writers of problems show."""

    def __init__(self, code: str, message: str, file: str | None = None):
        super().__init__(message)
        severity = CATALOGUE[code].severity if code in CATALOGUE else Severity.ERROR  # a plug-in reader's own code
        self.problem = Problem(severity, code, message, file=file)

    @classmethod
    def of(cls, problem: Problem) -> ReadError:
        """The error of a problem (e.g. one sent back from a worker)."""
        out = cls.__new__(cls)
        Exception.__init__(out, problem.message)
        out.problem = problem
        return out

    def __reduce__(self):
        return (ReadError.of, (self.problem,))

    @property
    def code(self) -> str:
        return self.problem.code

    @property
    def message(self) -> str:
        return self.problem.message


@dataclass(frozen=True)
class Source:
    path: Path
    kind: str  # xlsx | ods | xls
    data: bytes = b""  # the file's bytes, read once: hashing, safety checks, structure and values all use them


def check_size(path: Path, limit: int, hint: str) -> int:
    """The file's size, after refusing what is not a regular file (a link, pipe, device, socket or folder), missing,
    empty and oversized files: from metadata only (lstat), before anything opens the file, so a pipe cannot block
    and a device like /dev/zero cannot be read forever. Every reader calls this first."""
    import os
    import stat

    try:
        info = os.lstat(path)
    except OSError as exc:
        from xltool.oserrors import describe

        raise ReadError(Code.UNREADABLE, f"无法打开文件（{describe(exc)}）") from None
    except ValueError:  # a NUL byte in the name
        raise ReadError(Code.UNREADABLE, "文件名中含有非法字符，无法打开") from None
    mode, size = info.st_mode, info.st_size
    if stat.S_ISLNK(mode):
        from xltool.system import link_loop

        if link_loop(path):
            raise ReadError(Code.NOT_REGULAR_FILE, "这是循环的符号链接（最终又指回自身），未跟随、未打开")
        if not os.path.exists(path):
            raise ReadError(Code.NOT_REGULAR_FILE, "这是失效的符号链接（指向的文件不存在），未打开")
        raise ReadError(Code.NOT_REGULAR_FILE, "这是符号链接（快捷方式），不是文件本身，未打开；请直接指定原文件")
    if stat.S_ISDIR(mode):
        raise ReadError(Code.UNREADABLE, "这是文件夹，不是文件")
    if not stat.S_ISREG(mode):
        kinds = (
            (stat.S_ISFIFO, "命名管道（FIFO）"),
            (stat.S_ISCHR, "字符设备"),
            (stat.S_ISBLK, "块设备"),
            (stat.S_ISSOCK, "套接字（socket）"),
        )
        kind = next((name for test, name in kinds if test(mode)), "特殊文件")
        raise ReadError(Code.NOT_REGULAR_FILE, f"这是{kind}，不是普通文件，未打开")
    if size == 0:
        raise ReadError(Code.EMPTY_FILE, "空文件（0 字节），请重新导出后报送")
    if size > limit:
        raise ReadError(Code.TOO_LARGE, f"文件过大（{size / 1048576:.0f} MB），超过 {limit // 1048576} MB 上限；{hint}")
    return size


def read_bytes(path: Path, limit: int, hint: str) -> bytes:
    """The whole file, after the size checks; never more than `limit` bytes, even if the file grows meanwhile."""
    check_size(path, limit, hint)
    try:
        with path.open("rb") as fh:
            data = fh.read(limit + 1)
    except OSError as exc:
        from xltool.oserrors import describe

        raise ReadError(Code.UNREADABLE, f"无法打开文件（{describe(exc)}）") from None
    if len(data) > limit:
        raise ReadError(Code.TOO_LARGE, f"文件过大，超过 {limit // 1048576} MB 上限；{hint}")
    return data


def sniff(path: Path) -> Source:
    """Classify a file by its bytes (not its name) and run the safety checks; the bytes are kept for the reader."""
    data = read_bytes(path, MAX_FILE_BYTES, "统计表通常不到 1 MB，请检查是否误报了其他文件")
    head = data[:8]
    if head.startswith(b"PK\x03\x04") or head.startswith(b"PK\x05\x06"):
        return Source(path, _zip_kind(data), data)
    if head == OLE_MAGIC:
        if ENCRYPTED_MARK in data[: 4 * 1024 * 1024]:
            raise ReadError(Code.ENCRYPTED, "文件设置了打开密码（已加密），无法读取；请取消打开密码后重新报送")
        return Source(path, "xls", data)
    start = data[:512].lstrip().lower()
    if start.startswith(b"%pdf"):
        raise ReadError(Code.NOT_SPREADSHEET, "这是 PDF 文件，不是电子表格；请报送填好的 Excel/WPS 统计表")
    if start.startswith(b"{\\rtf"):
        raise ReadError(Code.NOT_SPREADSHEET, "这是 RTF 文档，不是电子表格")
    if start.startswith((b"<!doctype html", b"<html")):
        raise ReadError(Code.NOT_SPREADSHEET, "这是网页（HTML）文件，不是电子表格")
    raise ReadError(Code.NOT_SPREADSHEET, "不是电子表格文件（无法识别的文件格式）")


def check_zip(path_or_data: Path | bytes) -> set[str]:
    """Safety checks for any zip container (xlsx, ods, docx): entry count, sizes, lying sizes, encryption, DTDs.

    Returns the member names; raises ReadError (ZIP-BOMB, ENCRYPTED, XML-BOMB, CORRUPT) otherwise.
    """
    try:
        if isinstance(path_or_data, bytes):
            return check_zip_file(open_zip(path_or_data))
        with zipfile.ZipFile(path_or_data) as z:
            return check_zip_file(z)
    except (zipfile.BadZipFile, zlib.error, EOFError):
        raise ReadError(Code.CORRUPT, "文件已损坏或不完整（压缩结构错误），请重新保存后报送") from None
    except (zipfile.LargeZipFile, NotImplementedError, RuntimeError) as exc:
        raise ReadError(Code.CORRUPT, f"文件无法解压：{exc}") from None


_LAST_ZIP: list = []  # (bytes, ZipFile) of the file read last: its checks and its reader share one central directory


def open_zip(data: bytes) -> zipfile.ZipFile:
    """A zip over bytes in memory; the same object again for the same bytes object (the checks, then the reader).
    Nothing to close: it holds no file handle."""
    if _LAST_ZIP and _LAST_ZIP[0] is data:
        return _LAST_ZIP[1]
    z = zipfile.ZipFile(io.BytesIO(data))
    _LAST_ZIP[:] = [data, z]
    return z


def check_zip_file(z: zipfile.ZipFile) -> set[str]:
    infos = z.infolist()
    if len(infos) > MAX_ENTRIES:
        raise ReadError(Code.ZIP_BOMB, f"压缩包内文件数异常（{len(infos)} 个），疑似恶意文件，已拒绝")
    total = sum(i.file_size for i in infos)
    if total > MAX_UNZIPPED_BYTES or any(
        i.file_size > 10 * 1024 * 1024 and i.file_size > MAX_RATIO * max(i.compress_size, 1) for i in infos
    ):
        raise ReadError(Code.ZIP_BOMB, "解压后体积异常巨大（疑似“zip 炸弹”），已拒绝读取")
    # Deflate never makes data much larger: more compressed bytes than declared ones means the sizes lie.
    if any(i.compress_size > i.file_size + i.file_size // 100 + 1024 for i in infos):
        raise ReadError(Code.ZIP_BOMB, "压缩数据与声明的大小不符（疑似伪造大小的“zip 炸弹”），已拒绝读取")
    names = {i.filename for i in infos}
    # two members of one name, or of names that differ only in letter case (OPC part names ignore case): readers
    # disagree on which one counts
    if len({n.lower() for n in names}) != len(infos):
        seen: dict[str, int] = {}
        for i in infos:
            seen[i.filename.lower()] = seen.get(i.filename.lower(), 0) + 1
        twice = sorted({i.filename for i in infos if seen[i.filename.lower()] > 1})[:3]
        raise ReadError(
            Code.DUPLICATE_PARTS, f"文件内有重名的部件（{'、'.join(twice)}），内容不确定，已拒绝读取；请重新保存后报送"
        )
    if "EncryptedPackage" in names:
        raise ReadError(Code.ENCRYPTED, "文件已加密，无法读取；请取消打开密码后重新报送")
    for info in infos:  # every part, whatever its name: a parser may be pointed at any of them
        if _has_dtd(z, info):
            raise ReadError(Code.XML_BOMB, f"{info.filename} 含有 DTD/实体声明（可能是 XML 炸弹），已拒绝读取")
    if "mimetype" in names:
        names.add("mimetype:" + z.read("mimetype")[:80].decode("ascii", "replace"))
    return names


def zip_kind(names: set[str]) -> str | None:
    """xlsx | ods | docx for a checked zip's member names, or None."""
    low = {n.lower() for n in names}  # OPC part names ignore letter case
    if "xl/workbook.xml" in low or "xl/workbook.bin" in low or ("[content_types].xml" in low and _office_main(low)):
        return "xlsx"
    if "mimetype:application/vnd.oasis.opendocument.spreadsheet" in names:
        return "ods"
    if "word/document.xml" in names:
        return "docx"
    return None


def _office_main(low: set[str]) -> bool:
    """A package whose root relationships name a workbook elsewhere than xl/ (xltool.formats._xmlparts finds it):
    some part under a folder holding worksheets."""
    return any("/worksheets/" in n for n in low) and "_rels/.rels" in low


def _zip_kind(data: bytes) -> str:
    kind = zip_kind(check_zip(data))
    if kind in ("xlsx", "ods"):
        return kind
    if kind == "docx":
        raise ReadError(Code.NOT_SPREADSHEET, "这是 Word 文档，不是电子表格；请用 xltool import 导入报告文本")
    raise ReadError(Code.NOT_SPREADSHEET, "是压缩包，但不是 Excel 或 OpenDocument 电子表格")


def _decode(head: bytes) -> str:
    """XML may be UTF-8 or UTF-16 (with or without BOM); guess from the first bytes as an XML parser would."""
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return head.decode("utf-16", "replace")
    if head[:2] == b"<\x00":
        return head.decode("utf-16-le", "replace")
    if head[:2] == b"\x00<":
        return head.decode("utf-16-be", "replace")
    return head.decode("utf-8", "replace").lstrip("\ufeff")


_CLEAN_HEADS = Memo(256)  # compressed parts (small ones) already found to carry no DTD: returns of one template
# share most of their parts byte for byte (theme, styles, rels …)


def _has_dtd(z: zipfile.ZipFile, info: zipfile.ZipInfo) -> bool:
    """A DTD can only appear in the prolog, before the root element; office files never carry one. The first 2 KB
    settle almost every part (only that much is decompressed); a longer prolog is read up to 64 KB. A small part
    whose compressed bytes equal those of a part already found clean is clean (same bytes in, same bytes out)."""
    key = _compressed(z, info) if info.compress_size <= 16384 else None
    if key is not None and key in _CLEAN_HEADS:
        return False
    found = _dtd_in_prolog(z, info)
    if key is not None and not found:
        _CLEAN_HEADS.keep(key, True)
    return found


def _compressed(z: zipfile.ZipFile, info: zipfile.ZipInfo) -> bytes | None:
    """A member's method and raw (compressed) bytes, from the zip's in-memory buffer; None if not there."""
    raw = _raw_member(z, info)
    return None if raw is None else bytes([info.compress_type & 0xFF]) + bytes(raw)


def _dtd_in_prolog(z: zipfile.ZipFile, info: zipfile.ZipInfo) -> bool:
    head = _first_bytes(z, info, 2048)
    found = _prolog(_decode(head)) if head is not None else "open"
    if head is None or (found in ("open", "end") and len(head) == 2048):
        with z.open(info) as fh:
            head = fh.read(PROLOG_BYTES)
        found = _prolog(_decode(head))
    if found == "end":
        return len(head) == PROLOG_BYTES  # a prolog longer than 64 KB is itself suspicious
    return found in ("dtd", "open")  # an unterminated comment or declaration is refused too


try:  # ISA-L's inflate (python-isal): the same bytes as zlib's, in about 0.6 of the time on a return's parts
    from isal import isal_zlib as _INFLATE

    _INFLATE_ERRORS: tuple[type[Exception], ...] = (zlib.error, _INFLATE.error)
except ImportError:  # a platform without its wheel: zlib
    _INFLATE = zlib  # type: ignore[assignment]
    _INFLATE_ERRORS = (zlib.error,)


def member_bytes(z: zipfile.ZipFile, name: str, limit: int | None = None) -> bytes:
    """A member's bytes (with `limit`, at most limit + 1 of them, so the caller can tell it is over): inflated in one
    call straight from the zip's buffer and checked against its CRC, or through zipfile when that shortcut does not
    apply (zipfile's streamed reading costs as much again as inflating a return's parts)."""
    info = z.getinfo(name)
    if limit is None or info.file_size <= limit:
        data = _member_data(z, info, info.file_size + 1)
        if data is not None and len(data) == info.file_size and zlib.crc32(data) == info.CRC:
            return data
    with z.open(info) as fh:  # zipfile raises BadZipFile on a bad CRC or a short member
        return fh.read(-1 if limit is None else limit + 1)


def _first_bytes(z: zipfile.ZipFile, info: zipfile.ZipInfo, size: int) -> bytes | None:
    """The first `size` bytes of a stored or deflated member, decompressing no more than that (a member is otherwise
    opened through zipfile, which checks its CRC on the whole); None when that shortcut does not apply."""
    return _member_data(z, info, size, size * 1032 + 64)  # deflate never shrinks more than 1032:1


def _member_data(z: zipfile.ZipFile, info: zipfile.ZipInfo, size: int, compressed: int | None = None) -> bytes | None:
    """Up to `size` bytes of a stored or deflated member, from the zip's in-memory buffer (at most `compressed` bytes
    of it read); None when that does not apply (not in memory, encrypted, another method, a damaged local header)."""
    if info.compress_type not in (0, 8):
        return None
    raw = _raw_member(z, info)
    if raw is None:
        return None
    chunk = raw[: min(info.compress_size, compressed or info.compress_size)]
    try:
        if info.compress_type == 0:
            return bytes(chunk[:size])
        return _INFLATE.decompressobj(-15).decompress(chunk, size)
    except _INFLATE_ERRORS:
        return None
    finally:
        del chunk, raw


def _raw_member(z: zipfile.ZipFile, info: zipfile.ZipInfo) -> memoryview | None:
    """A member's compressed bytes, found through its local header in the zip's in-memory buffer; None when the zip
    is not in memory, the member is encrypted or its local header is damaged."""
    fp = z.fp
    if not isinstance(fp, io.BytesIO) or info.flag_bits & 1:
        return None
    data = fp.getbuffer()
    start = info.header_offset
    header = bytes(data[start : start + 30])
    if len(header) < 30 or header[:4] != b"PK\x03\x04":
        data.release()
        return None
    start += 30 + int.from_bytes(header[26:28], "little") + int.from_bytes(header[28:30], "little")
    return data[start : start + info.compress_size]


def _prolog(text: str) -> str:
    """What the prolog holds: "dtd" (a DTD or entity declaration), "root" (the root element starts first, or not
    XML), "open" (a comment or declaration left open), "end" (the text ends inside the prolog)."""
    if not text.lstrip().startswith("<"):
        return "root"  # not XML (images, binary parts)
    i = 0
    while True:
        j = text.find("<", i)
        if j < 0 or j + 1 >= len(text):
            return "end"
        nxt = text[j + 1]
        if nxt == "!":
            if text.startswith("<!DOCTYPE", j) or text.startswith("<!ENTITY", j):
                return "dtd"
            end = text.find("-->", j) if text.startswith("<!--", j) else text.find(">", j)
            if end < 0:
                return "open"
            i = end + 1
        elif nxt == "?":
            end = text.find("?>", j)
            if end < 0:
                return "open"
            i = end + 2
        else:
            return "root"
