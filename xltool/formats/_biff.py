"""Legacy Excel workbooks (BIFF8, Excel 97–2003): the records walked one by one, no grid ever built.

calamine reads an .xls's values but says nothing of its formulas, and builds one dense grid from the first to the last
cell of a sheet (a value at IV65536 costs 1.2 GB). This walk, over the `Workbook` stream olefile hands us, gives what
the xlsx scan gives (xltool.formats._bounded): which cells inside the window hold formulas and their text, unsafe
formulas anywhere, error values, protection, hidden rows and columns, merges, sheet states — and the stream again with
every cell record outside the window neutralised in place (its record type set to one no reader knows, its length
kept), so calamine never sees a far cell. BIFF5 (Excel 5/95) records are walked the same way for cell places;
their formulas are flagged by place, with a stand-in text.
"""

from __future__ import annotations

import io
import struct
from dataclasses import dataclass, field

from xltool.codes import Code
from xltool.formats._bounded import MAX_FINDINGS, WINDOW, unsafe_formula
from xltool.formats.page import MAX_FORMULA_TEXT, SheetFacts
from xltool.forms import col_letter
from xltool.sources import ReadError

BOF, EOF, CONTINUE = 0x0809, 0x000A, 0x003C
FORMULA, STRING, SHRFMLA, ARRAY = 0x0006, 0x0207, 0x04BC, 0x0221
BOOLERR, MULRK, MULBLANK = 0x0205, 0x00BD, 0x00BE
CELLS = {FORMULA, 0x0203, 0x027E, 0x00FD, 0x0204, BOOLERR, 0x0201, 0x00D6, MULRK, MULBLANK}  # row, col first
NEUTRAL = 0x0000  # no BIFF5/8 record has this type: readers skip it
ERRORS = {0x00: "#NULL!", 0x07: "#DIV/0!", 0x0F: "#VALUE!", 0x17: "#REF!", 0x1D: "#NAME?", 0x24: "#NUM!", 0x2A: "#N/A"}
STATES = {0: "visible", 1: "hidden", 2: "veryHidden"}
BIFF5_FORMULA = "（Excel 5.0 公式）"  # BIFF5 formulas are located, not decompiled
MAX_FORMULA_BYTES = 4 * 1024 * 1024  # formula tokens decompiled per workbook (a return has about 30 KB): ~1 s

# Built-in functions by index: name and fixed argument count (blank: the token carries it). From the BIFF8 spec's
# function table (as tabulated by xlrd's formula.py), with the macro-sheet functions that run code added.
_FUNCTION_TABLE = """
0:COUNT: 1:IF: 2:ISNA:1 3:ISERROR:1 4:SUM: 5:AVERAGE: 6:MIN: 7:MAX: 8:ROW: 9:COLUMN: 10:NA:0 11:NPV:
12:STDEV: 13:DOLLAR: 14:FIXED: 15:SIN:1 16:COS:1 17:TAN:1 18:ATAN:1 19:PI:0 20:SQRT:1 21:EXP:1 22:LN:1
23:LOG10:1 24:ABS:1 25:INT:1 26:SIGN:1 27:ROUND:2 28:LOOKUP: 29:INDEX: 30:REPT:2 31:MID:3 32:LEN:1 33:VALUE:1
34:TRUE:0 35:FALSE:0 36:AND: 37:OR: 38:NOT:1 39:MOD:2 40:DCOUNT:3 41:DSUM:3 42:DAVERAGE:3 43:DMIN:3 44:DMAX:3
45:DSTDEV:3 46:VAR: 47:DVAR:3 48:TEXT:2 49:LINEST: 50:TREND: 51:LOGEST: 52:GROWTH: 56:PV: 57:FV: 58:NPER:
59:PMT: 60:RATE: 61:MIRR:3 62:IRR: 63:RAND:0 64:MATCH: 65:DATE:3 66:TIME:3 67:DAY:1 68:MONTH:1 69:YEAR:1
70:WEEKDAY: 71:HOUR:1 72:MINUTE:1 73:SECOND:1 74:NOW:0 75:AREAS:1 76:ROWS:1 77:COLUMNS:1 78:OFFSET:
82:SEARCH: 83:TRANSPOSE:1 86:TYPE:1 92:SERIESSUM:4 97:ATAN2:2 98:ASIN:1 99:ACOS:1 100:CHOOSE: 101:HLOOKUP:
102:VLOOKUP: 105:ISREF:1 109:LOG: 110:EXEC: 111:CHAR:1 112:LOWER:1 113:UPPER:1 114:PROPER:1 115:LEFT:
116:RIGHT: 117:EXACT:2 118:TRIM:1 119:REPLACE:4 120:SUBSTITUTE: 121:CODE:1 124:FIND: 125:CELL: 126:ISERR:1
127:ISTEXT:1 128:ISNUMBER:1 129:ISBLANK:1 130:T:1 131:N:1 140:DATEVALUE:1 141:TIMEVALUE:1 142:SLN:3 143:SYD:4
144:DDB: 148:INDIRECT: 149:REGISTER: 150:CALL: 162:CLEAN:1 163:MDETERM:1 164:MINVERSE:1 165:MMULT:2 167:IPMT:
168:PPMT: 169:COUNTA: 183:PRODUCT: 184:FACT:1 189:DPRODUCT:3 190:ISNONTEXT:1 193:STDEVP: 194:VARP:
195:DSTDEVP:3 196:DVARP:3 197:TRUNC: 198:ISLOGICAL:1 199:DCOUNTA:3 204:USDOLLAR: 205:FINDB: 206:SEARCHB:
207:REPLACEB:4 208:LEFTB: 209:RIGHTB: 210:MIDB:3 211:LENB:1 212:ROUNDUP:2 213:ROUNDDOWN:2 214:ASC:1
215:DBCS:1 216:RANK: 219:ADDRESS: 220:DAYS360: 221:TODAY:0 222:VDB: 227:MEDIAN: 228:SUMPRODUCT: 229:SINH:1
230:COSH:1 231:TANH:1 232:ASINH:1 233:ACOSH:1 234:ATANH:1 235:DGET:3 244:INFO:1 247:DB: 252:FREQUENCY:2
261:ERROR.TYPE:1 267:REGISTER.ID: 269:AVEDEV: 270:BETADIST: 271:GAMMALN:1 272:BETAINV: 273:BINOMDIST:4
274:CHIDIST:2 275:CHIINV:2 276:COMBIN:2 277:CONFIDENCE:3 278:CRITBINOM:3 279:EVEN:1 280:EXPONDIST:3
281:FDIST:3 282:FINV:3 283:FISHER:1 284:FISHERINV:1 285:FLOOR:2 286:GAMMADIST:4 287:GAMMAINV:3 288:CEILING:2
289:HYPGEOMDIST:4 290:LOGNORMDIST:3 291:LOGINV:3 292:NEGBINOMDIST:3 293:NORMDIST:4 294:NORMSDIST:1
295:NORMINV:3 296:NORMSINV:1 297:STANDARDIZE:3 298:ODD:1 299:PERMUT:2 300:POISSON:3 301:TDIST:3 302:WEIBULL:4
303:SUMXMY2:2 304:SUMX2MY2:2 305:SUMX2PY2:2 306:CHITEST:2 307:CORREL:2 308:COVAR:2 309:FORECAST:3 310:FTEST:2
311:INTERCEPT:2 312:PEARSON:2 313:RSQ:2 314:STEYX:2 315:SLOPE:2 316:TTEST:4 317:PROB: 318:DEVSQ: 319:GEOMEAN:
320:HARMEAN: 321:SUMSQ: 322:KURT: 323:SKEW: 324:ZTEST: 325:LARGE:2 326:SMALL:2 327:QUARTILE:2
328:PERCENTILE:2 329:PERCENTRANK: 330:MODE: 331:TRIMMEAN:2 332:TINV:2 336:CONCATENATE: 337:POWER:2
342:RADIANS:1 343:DEGREES:1 344:SUBTOTAL: 345:SUMIF: 346:COUNTIF:2 347:COUNTBLANK:1 350:ISPMT:4 351:DATEDIF:3
352:DATESTRING:1 353:NUMBERSTRING:2 354:ROMAN: 358:GETPIVOTDATA:2 359:HYPERLINK: 360:PHONETIC:1 361:AVERAGEA:
362:MAXA: 363:MINA: 364:STDEVPA: 365:VARPA: 366:STDEVA: 367:VARA: 368:BAHTTEXT:1 369:THAIDAYOFWEEK:1
370:THAIDIGIT:1 371:THAIMONTHOFYEAR:1 372:THAINUMSOUND:1 373:THAINUMSTRING:1 374:THAISTRINGLENGTH:1
375:ISTHAIDIGIT:1 376:ROUNDBAHTDOWN:1 377:ROUNDBAHTUP:1 378:THAIYEAR:1 379:RTD:
"""
FUNCTIONS: dict[int, tuple[str, int | None]] = {
    int(i): (name, int(n) if n else None) for i, name, n in (item.split(":") for item in _FUNCTION_TABLE.split())
}


@dataclass
class Book:
    """What the walk found: sheets in order with their states and facts, and the stream with far cells neutralised
    (None when nothing was cut)."""

    names: list[str] = field(default_factory=list)
    states: dict[str, str] = field(default_factory=dict)
    facts: dict[str, SheetFacts] = field(default_factory=dict)
    stream: bytes | None = None
    stream_name: str = "Workbook"
    parts: set[str] = field(default_factory=set)  # the container's storages and streams (macros, objects)


def records(data: bytes | bytearray, pos: int):
    """(type, offset of its header, body) of each record from `pos` to the end of the substream (its EOF)."""
    end = len(data)
    while pos + 4 <= end:
        typ, size = struct.unpack_from("<HH", data, pos)
        body = bytes(data[pos + 4 : pos + 4 + size])
        yield typ, pos, body
        if typ == EOF:
            return
        pos += 4 + size


def _unicode(body: bytes, at: int, cch: int) -> tuple[str, int]:
    """An XLUnicodeString's characters from its flags byte at `at`: (text, offset after it)."""
    if at >= len(body):
        return "", at
    flags = body[at]
    at += 1
    if flags & 0x08:
        at += 2  # rich-text run count
    if flags & 0x04:
        at += 4  # phonetic size
    if flags & 0x01:
        return body[at : at + 2 * cch].decode("utf-16-le", "replace"), at + 2 * cch
    return body[at : at + cch].decode("latin-1"), at + cch


def _path(virtual: bytes | str) -> str:
    """A linked file's encoded path (\x01 drive/volume, \x02 \x03 separators …) in readable form."""
    return "".join("/" if ord(ch) < 0x20 else ch for ch in virtual).strip("/") or "?"


class _Globals:
    """The workbook globals a formula's text needs: sheets, linked books, their names, defined names."""

    def __init__(self) -> None:
        self.sheets: list[str] = []
        self.supbooks: list[tuple[str, str]] = []  # (kind: self | addin | external | dde, path)
        self.externnames: list[list[str]] = []
        self.xti: list[tuple[int, int, int]] = []
        self.names: list[str] = []
        self.linked_sheets: dict[int, list[str]] = {}  # SUPBOOK index -> the sheet names it lists
        self.budget = MAX_FORMULA_BYTES  # formula tokens left to decompile in this workbook


def read(data: bytes, windows: dict[str, tuple[int, int]]) -> Book:
    """Walk an .xls; ReadError when it is encrypted or not a workbook."""
    import olefile

    ole = olefile.OleFileIO(io.BytesIO(data))
    stream_name = next((n for n in ("Workbook", "Book") if ole.exists(n)), None)
    if stream_name is None:
        raise ReadError(Code.CORRUPT, "文件不是 Excel 工作簿（缺少 Workbook 数据），无法读取")
    stream = bytearray(ole.openstream(stream_name).read())
    book = Book(stream_name=stream_name)
    g = _Globals()
    biff8 = True
    sheets: list[tuple[str, int, str, int]] = []  # name, offset, state, type
    for typ, _, body in records(stream, 0):
        if typ == BOF and len(body) >= 2:
            biff8 = struct.unpack_from("<H", body)[0] == 0x0600
        elif typ == 0x002F:  # FILEPASS
            raise ReadError(Code.ENCRYPTED, "文件设置了打开密码（已加密），无法读取；请取消打开密码后重新报送")
        elif typ == 0x0085 and len(body) >= 8:  # BOUNDSHEET
            offset, state, kind, cch = struct.unpack_from("<IBBB", body)
            name = _unicode(body, 7, cch)[0] if biff8 else body[7 : 7 + cch].decode("gbk", "replace")
            sheets.append((name, offset, STATES.get(state & 3, "hidden"), kind))
        elif typ == 0x01AE and len(body) >= 4:  # SUPBOOK
            cch = struct.unpack_from("<H", body, 2)[0]
            if cch == 0x0401:
                g.supbooks.append(("self", ""))
            elif cch == 0x3A01:
                g.supbooks.append(("addin", ""))
            else:
                path, at = _unicode(body, 4, cch)
                for _ in range(min(struct.unpack_from("<H", body)[0], 256)):  # the linked book's sheet names
                    if at + 2 > len(body):
                        break
                    name, at = _unicode(body, at + 2, struct.unpack_from("<H", body, at)[0])
                    g.linked_sheets.setdefault(len(g.supbooks), []).append(name)
                dde = "\x03" in path and not path.startswith("\x01")  # app\x03topic; a file path starts \x01
                g.supbooks.append(("dde", path) if dde else ("external", _path(path)))
            g.externnames.append([])
        elif typ == 0x0023 and len(body) >= 8 and g.externnames:  # EXTERNNAME, of the last SUPBOOK
            g.externnames[-1].append(_unicode(body, 7, body[6])[0])
        elif typ == 0x0017 and len(body) >= 2 and biff8:  # EXTERNSHEET
            count = struct.unpack_from("<H", body)[0]
            g.xti = [struct.unpack_from("<HHH", body, 2 + 6 * i) for i in range(min(count, (len(body) - 2) // 6))]
        elif typ == 0x0018 and len(body) >= 15 and biff8:  # NAME
            cch = body[3]
            name = _unicode(body, 14, cch)[0]
            g.names.append(f"_内置名称{ord(name[:1] or chr(0))}" if body[0] & 0x20 else name)
    g.sheets = [s[0] for s in sheets]
    book.parts = {"/".join(entry) for entry in ole.listdir(streams=True, storages=True)}
    cut = False
    budget = 2 * len(stream) + 1024 * 1024  # bytes walked in all: sheets that overlap cannot multiply the work
    for name, offset, state, kind in sheets:
        book.names.append(name)
        book.states[name] = state
        if kind != 0 or offset >= len(stream):
            continue
        facts = SheetFacts()
        sheet_cut, walked = _walk_sheet(stream, offset, windows.get(name, WINDOW), facts, g, biff8)
        cut |= sheet_cut
        budget -= walked
        if budget < 0:
            raise ReadError(Code.CORRUPT, "文件内的工作表数据相互重叠，文件已损坏，无法读取；请重新保存后报送")
        book.facts[name] = facts
    if cut:
        book.stream = bytes(stream)
    return book


def neutralised_file(data: bytes, book: Book) -> bytes:
    """The .xls with its workbook stream replaced by the walked one (same size: far cells' records neutralised)."""
    import olefile

    assert book.stream is not None
    fp = io.BytesIO(bytearray(data))
    ole = olefile.OleFileIO(fp, write_mode=True)
    ole.write_stream(book.stream_name, book.stream)
    return fp.getvalue()


def _walk_sheet(
    stream: bytearray, offset: int, window: tuple[int, int], facts: SheetFacts, g: _Globals, biff8: bool
) -> tuple[bool, int]:
    """One sheet's records: facts noted, cells outside the window neutralised in `stream`. Whether any was, and
    how many bytes were walked."""
    max_rows, max_cols = window
    cut = False
    last_cut = False
    seen: set[tuple[int, int]] = set()  # cells met inside the window: a second record for one is noted
    pending: dict[str, tuple[int, int]] = {}  # A1 of a shared/array formula's cell -> its first cell
    bodies: dict[tuple[int, int], tuple[bytes, int, int]] = {}  # first cell -> (rgce, row, col) of SHRFMLA/ARRAY
    end = offset
    for typ, pos, body in records(stream, offset):
        end = pos + 4 + len(body)
        if typ in CELLS and len(body) >= 4:
            row, col = struct.unpack_from("<HH", body)
            last = struct.unpack_from("<H", body, len(body) - 2)[0] if typ in (MULRK, MULBLANK) else col
            where = f"{col_letter(col)}{row + 1}"
            inside = row < max_rows and last < max_cols
            if typ == FORMULA and len(body) >= 22:
                rgce = body[22 : 22 + struct.unpack_from("<H", body, 20)[0]]
                if rgce[:1] in (b"\x01", b"\x02") and len(rgce) >= 5:  # ptgExp / ptgTbl: the body is elsewhere
                    if inside:
                        pending[where] = struct.unpack_from("<HH", rgce, 1)
                else:
                    text = _text(rgce, row, col, g) if biff8 else BIFF5_FORMULA
                    _note_unsafe(facts, where, text)
                    if inside:
                        facts.formulas[where] = text
                if inside and body[12:14] == b"\xff\xff" and body[6] == 2:
                    facts.errors[where] = ERRORS.get(body[8], "#N/A")
            elif typ == BOOLERR and inside and len(body) >= 8 and body[7] == 1:
                facts.errors[where] = ERRORS.get(body[6], "#N/A")
            last_cut = not inside
            if inside:
                for c in range(col, last + 1):
                    if (row, c) in seen and len(facts.duplicates) < MAX_FINDINGS:
                        facts.duplicates.append(f"{col_letter(c)}{row + 1}")
                    seen.add((row, c))
            if not inside:
                facts.stray += 1 if typ not in (MULRK, MULBLANK) else max(last - col + 1, 1)
                if len(facts.stray_examples) < 5:
                    facts.stray_examples.append(f"{col_letter(min(last, 16383))}{row + 1}")
                struct.pack_into("<H", stream, pos, NEUTRAL)
                cut = True
        elif typ == STRING and last_cut:  # the cached text of a formula cut out
            struct.pack_into("<H", stream, pos, NEUTRAL)
        elif typ in (SHRFMLA, ARRAY) and len(body) >= 6:
            r0, _r1, c0, _c1 = struct.unpack_from("<HHBB", body)
            start = 8 if typ == SHRFMLA else 12  # RefU, then cUse (SHRFMLA) or grbit+chn (ARRAY)
            if len(body) >= start + 2:
                rgce = body[start + 2 : start + 2 + struct.unpack_from("<H", body, start)[0]]
                bodies[(r0, c0)] = (rgce, r0, c0)
                text = _text(rgce, r0, c0, g) if biff8 else BIFF5_FORMULA
                _note_unsafe(facts, f"{col_letter(c0)}{r0 + 1}", text)
        elif typ == 0x0012 and len(body) >= 2:  # PROTECT
            facts.protected = struct.unpack_from("<H", body)[0] == 1
        elif typ == 0x0208 and len(body) >= 16:  # ROW
            row = struct.unpack_from("<H", body)[0]
            if body[12] & 0x20 and row < max_rows:
                facts.hidden_rows.add(row)
        elif typ == 0x007D and len(body) >= 10:  # COLINFO
            first, end, _, _, options = struct.unpack_from("<HHHHH", body)
            if options & 1:
                facts.hidden_cols.update(range(first, min(end + 1, max_cols)))
        elif typ == 0x00E5 and len(body) >= 2:  # MERGECELLS
            count = struct.unpack_from("<H", body)[0]
            for i in range(min(count, (len(body) - 2) // 8, MAX_FINDINGS * 20)):
                r0, r1, c0, c1 = struct.unpack_from("<HHHH", body, 2 + 8 * i)
                facts.merges.append((r0, c0, r1, c1))
    for where, first in pending.items():
        found = bodies.get(first)
        if found is None:
            facts.formulas[where] = "（共享公式）"
            continue
        rgce, r0, c0 = found
        row, col = int("".join(ch for ch in where if ch.isdigit())) - 1, _col_of(where)
        facts.formulas[where] = _text(rgce, row, col, g) if biff8 else BIFF5_FORMULA
    return cut, end - offset


def _col_of(where: str) -> int:
    n = 0
    for ch in where:
        if not ch.isalpha():
            break
        n = n * 26 + ord(ch) - 64
    return n - 1


def _note_unsafe(facts: SheetFacts, where: str, text: str) -> None:
    if len(facts.unsafe) < MAX_FINDINGS and unsafe_formula(text):
        facts.unsafe.append((where, text))


_BINARY = {3: "+", 4: "-", 5: "*", 6: "/", 7: "^", 8: "&", 9: "<", 10: "<=", 11: "=", 12: ">=", 13: ">", 14: "<>"}
_BINARY.update({15: " ", 16: ",", 17: ":"})
_SIZES = {0x20: 7, 0x26: 6, 0x27: 6, 0x28: 6, 0x29: 2, 0x2A: 4, 0x2B: 8, 0x2E: 2, 0x2F: 2, 0x3C: 6, 0x3D: 10}


def _ref(row: int, col: int, at_row: int, at_col: int, relative: bool) -> str:
    """A1 text of a BIFF8 reference; `relative`: RefN/AreaN offsets from the formula's cell (shared formulas)."""
    r, c = row, col & 0xFF
    if relative:
        if col & 0x8000:
            r = (at_row + (row if row < 0x8000 else row - 0x10000)) & 0xFFFF
        if col & 0x4000:
            c = (at_col + (c if c < 0x80 else c - 0x100)) & 0xFF
    return f"{'' if col & 0x4000 else '$'}{col_letter(c)}{'' if col & 0x8000 else '$'}{r + 1}"


def _sheet_prefix(ixti: int, g: _Globals) -> str:
    """Where a 3-D reference or external name points: a sheet of this workbook, or [another file]…"""
    if ixti >= len(g.xti):
        return "[未知]"
    book, first, _last = g.xti[ixti]
    kind, path = g.supbooks[book] if book < len(g.supbooks) else ("external", "?")
    if kind == "self":
        name = g.sheets[first] if first < len(g.sheets) else "#REF"
        return name if name.isascii() and name.replace("_", "a").isalnum() else "'" + name.replace("'", "''") + "'"
    if kind == "dde":
        app, _, topic = path.partition("\x03")
        return f"{app}|'{topic}'"
    sheets = g.linked_sheets.get(book, [])
    return f"[{path or '?'}]{sheets[first] if first < len(sheets) else ''}"


def _text(rgce: bytes, row: int, col: int, g: _Globals) -> str:
    """A BIFF8 parsed formula (RPN tokens) as formula text, bounded; tokens it cannot place are shown as such."""
    g.budget -= len(rgce)
    if g.budget < 0:
        raise ReadError(Code.TOO_LARGE, "文件中的公式远多于统计表应有的数量，已拒绝读取；请用原模板重新填报")
    stack: list[str] = []
    pos, end = 0, len(rgce)
    try:
        while pos < end:
            ptg = rgce[pos]
            pos += 1
            base = ptg if ptg < 0x20 else (ptg & 0x1F) | 0x20
            if base in _BINARY:
                b, a = stack.pop(), stack.pop()
                stack.append(f"{a}{_BINARY[base]}{b}")
            elif base in (0x12, 0x13):
                stack.append(("+" if base == 0x12 else "-") + stack.pop())
            elif base == 0x14:
                stack.append(stack.pop() + "%")
            elif base == 0x15:
                stack.append(f"({stack.pop()})")
            elif base == 0x16:
                stack.append("")
            elif base == 0x17:
                text, pos = _unicode(rgce, pos + 1, rgce[pos])
                stack.append('"' + text.replace('"', '""') + '"')
            elif base == 0x19:
                kind, count = rgce[pos], struct.unpack_from("<H", rgce, pos + 1)[0]
                pos += 3 + (2 * (count + 1) if kind & 0x04 else 0)
                if kind & 0x10:
                    stack.append(f"SUM({stack.pop()})")
            elif base == 0x1C:
                stack.append(ERRORS.get(rgce[pos], "#N/A"))
                pos += 1
            elif base == 0x1D:
                stack.append("TRUE" if rgce[pos] else "FALSE")
                pos += 1
            elif base == 0x1E:
                stack.append(str(struct.unpack_from("<H", rgce, pos)[0]))
                pos += 2
            elif base == 0x1F:
                stack.append(f"{struct.unpack_from('<d', rgce, pos)[0]:g}")
                pos += 8
            elif base in (0x21, 0x22):
                if base == 0x21:
                    index = struct.unpack_from("<H", rgce, pos)[0]
                    name, argc = FUNCTIONS.get(index & 0x7FFF, (f"函数{index}", None))
                    pos += 2
                    if argc is None:
                        raise ValueError(name)
                else:
                    argc, index = rgce[pos] & 0x7F, struct.unpack_from("<H", rgce, pos + 1)[0]
                    name = FUNCTIONS.get(index & 0x7FFF, (f"函数{index}", None))[0]
                    pos += 3
                args = [stack.pop() for _ in range(argc)][::-1]
                if (index & 0x7FFF) == 255 and args:  # a user-defined or add-in function: its name comes first
                    name, args = args[0], args[1:]
                stack.append(f"{name}({','.join(args)})")
            elif base == 0x23:
                index = struct.unpack_from("<I", rgce, pos)[0]
                stack.append(g.names[index - 1] if 0 < index <= len(g.names) else f"名称{index}")
                pos += 4
            elif base in (0x24, 0x2C):
                r, c = struct.unpack_from("<HH", rgce, pos)
                stack.append(_ref(r, c, row, col, base == 0x2C))
                pos += 4
            elif base in (0x25, 0x2D):
                r0, r1, c0, c1 = struct.unpack_from("<HHHH", rgce, pos)
                stack.append(f"{_ref(r0, c0, row, col, base == 0x2D)}:{_ref(r1, c1, row, col, base == 0x2D)}")
                pos += 8
            elif base == 0x39:
                ixti, index = struct.unpack_from("<HH", rgce, pos)
                pos += 6
                book = g.xti[ixti][0] if ixti < len(g.xti) else -1
                names = g.externnames[book] if 0 <= book < len(g.externnames) else []
                name = names[index - 1] if 0 < index <= len(names) else f"外部名称{index}"
                kind = g.supbooks[book][0] if 0 <= book < len(g.supbooks) else "external"
                stack.append(name if kind in ("self", "addin") else f"{_sheet_prefix(ixti, g)}!{name}")
            elif base == 0x3A:
                ixti, r, c = struct.unpack_from("<HHH", rgce, pos)
                stack.append(f"{_sheet_prefix(ixti, g)}!{_ref(r, c, row, col, False)}")
                pos += 6
            elif base == 0x3B:
                ixti, r0, r1, c0, c1 = struct.unpack_from("<HHHHH", rgce, pos)
                area = f"{_ref(r0, c0, row, col, False)}:{_ref(r1, c1, row, col, False)}"
                stack.append(f"{_sheet_prefix(ixti, g)}!{area}")
                pos += 10
            elif base in _SIZES:
                if base in (0x2A, 0x2B, 0x3C, 0x3D):
                    stack.append("#REF!")
                elif base == 0x20:
                    stack.append("{…}")
                pos += _SIZES[base]
            else:
                raise ValueError(f"ptg {ptg:#x}")
            if stack and len(stack[-1]) > MAX_FORMULA_TEXT:
                stack[-1] = stack[-1][:MAX_FORMULA_TEXT]
    except (IndexError, ValueError, struct.error) as exc:
        # a token this reader cannot place: keep what was read, say so, and keep any unsafe part visible
        return (" ".join([*stack, f"…（未能完整解析：{str(exc)[:20]}）"]))[:MAX_FORMULA_TEXT]
    return (stack[-1] if len(stack) == 1 else " ".join(stack))[:MAX_FORMULA_TEXT]
