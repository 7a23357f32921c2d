#!/usr/bin/python3
"""LibreOffice headless worker for the test suite.

Run with Debian's /usr/bin/python3, the only interpreter that has python3-uno
(the project's pyenv Python cannot `import uno`). The client in
tests/lo/__init__.py spawns it.

Protocol: one JSON request per line on stdin, one JSON response per line on
stdout. Everything else (our logs, soffice's own chatter) goes to stderr.
The first line written is a hello: {"ok": true, "ready": true, ...}.
"""

import contextlib
import glob
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid

import uno
from com.sun.star.beans import PropertyValue

# Keep the protocol stream to ourselves: duplicate fd 1 for JSON, then point
# fd 1 at stderr so any stray print (ours, pyuno's, soffice's) cannot corrupt it.
PROTO_OUT = os.fdopen(os.dup(1), "w", encoding="utf-8", buffering=1)
os.dup2(2, 1)
sys.stdout = sys.stderr
PROTO_IN = open(sys.stdin.fileno(), encoding="utf-8", closefd=False)  # noqa: SIM115 - lives as long as the worker

# LibreOffice does not recalculate xlsx/ods on load by default, even with
# fullCalcOnLoad="1" (engineering notes 2c / 6.2). 0 = always recalc.
REGISTRY = """<?xml version="1.0" encoding="UTF-8"?>
<oor:items xmlns:oor="http://openoffice.org/2001/registry"
           xmlns:xs="http://www.w3.org/2001/XMLSchema"
           xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
<item oor:path="/org.openoffice.Office.Calc/Formula/Load">
  <prop oor:name="OOXMLRecalcMode" oor:op="fuse"><value>0</value></prop></item>
<item oor:path="/org.openoffice.Office.Calc/Formula/Load">
  <prop oor:name="ODFRecalcMode" oor:op="fuse"><value>0</value></prop></item>
</oor:items>
"""

SAVE_FILTERS = {".xlsx": "Calc MS Excel 2007 XML", ".ods": "calc8", ".xls": "MS Excel 97"}
FORMULA_RESULT = {1: "VALUE", 2: "TEXT", 4: "ERROR"}  # com.sun.star.sheet.FormulaResult
CLEAR_CONTENT = 1 | 2 | 4 | 16  # CellFlags VALUE|DATETIME|STRING|FORMULA: keep formats and protection


def log(*args):
    print("[uno_worker]", *args, file=sys.stderr, flush=True)


def prop(name, value):
    p = PropertyValue()
    p.Name, p.Value = name, value
    return p


class Office:
    """One soffice process with a private throw-away profile."""

    def __init__(self):
        self.profile = tempfile.mkdtemp(prefix="xltool-lo-")
        os.makedirs(os.path.join(self.profile, "user"))
        with open(os.path.join(self.profile, "user", "registrymodifications.xcu"), "w") as f:
            f.write(REGISTRY)
        pipe = "xltool_lo_" + uuid.uuid4().hex
        cmd = [
            "soffice",
            "--headless",
            "--invisible",
            "--nologo",
            "--norestore",
            "--nodefault",
            "-env:UserInstallation=" + uno.systemPathToFileUrl(self.profile),
            f"--accept=pipe,name={pipe};urp;StarOffice.ComponentContext",
        ]
        # Own process group so we can kill oosplash and soffice.bin together.
        self.proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=2, stderr=2, start_new_session=True)
        self.pipe = pipe

    def connect(self):
        pipe = self.pipe
        local = uno.getComponentContext()
        resolver = local.ServiceManager.createInstanceWithContext("com.sun.star.bridge.UnoUrlResolver", local)
        deadline = time.monotonic() + 30
        while True:
            try:
                ctx = resolver.resolve(f"uno:pipe,name={pipe};urp;StarOffice.ComponentContext")
                break
            except Exception as e:  # NoConnectException until soffice listens
                if self.proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"cannot connect to soffice: {e}") from None
                time.sleep(0.1)
        self.desktop = ctx.ServiceManager.createInstanceWithContext("com.sun.star.frame.Desktop", ctx)

    def alive(self):
        if self.proc.poll() is not None:
            return False
        try:
            self.desktop.getComponents()
            return True
        except Exception:
            return False

    def stop(self):
        # A clean terminate() lets soffice remove its pipes from /tmp, but it
        # can block forever on a hung office, so give it a few seconds only.
        t = threading.Thread(target=self._terminate, daemon=True)
        t.start()
        t.join(5)
        try:
            self.proc.wait(5)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)  # own group: oosplash and soffice.bin
            self.proc.wait()
        remove_leftovers(self.profile, self.pipe)

    def _terminate(self):
        with contextlib.suppress(Exception):  # not connected yet, or already gone
            self.desktop.terminate()


def remove_leftovers(profile, pipe):
    """Delete the profile and, if soffice was killed, its accept-pipe socket in /tmp."""
    shutil.rmtree(profile, ignore_errors=True)
    for path in glob.glob(f"/tmp/OSL_PIPE_*_{pipe}"):
        os.unlink(path)


class opened:
    """Load a spreadsheet hidden and always close it, without saving.

    A class, not @contextmanager: contextlib sets __traceback__ on the
    exception it re-raises, which pyuno exceptions refuse, and the real error
    would be replaced by a confusing one.
    """

    def __init__(self, desktop, path):
        self.desktop, self.path = desktop, path

    def __enter__(self):
        if not os.path.isfile(self.path):
            raise FileNotFoundError(self.path)
        args = (
            prop("Hidden", True),
            prop("MacroExecutionMode", 0),  # NEVER_EXECUTE: templates must not need macros
            prop("UpdateDocMode", 0),
        )  # NO_UPDATE: no external links
        url = uno.systemPathToFileUrl(os.path.abspath(self.path))
        self.doc = self.desktop.loadComponentFromURL(url, "_blank", 0, args)
        if self.doc is None:  # a corrupt file gives None, not an exception
            raise RuntimeError(f"LibreOffice could not load {self.path}")
        if not self.doc.supportsService("com.sun.star.sheet.SpreadsheetDocument"):
            self.doc.close(True)
            raise RuntimeError(f"{self.path} is not a spreadsheet")
        return self.doc

    def __exit__(self, *exc):
        self.doc.close(True)
        return False


class SheetCache(dict):
    """Sheet objects by name, fetched once per document: each doc.Sheets /
    getByName round trip costs milliseconds on a real template (measured ~2.7 ms)."""

    def __init__(self, doc):
        super().__init__()
        self.sheets = doc.Sheets

    def __missing__(self, name):
        if not self.sheets.hasByName(name):
            raise LookupError(f"no sheet {name!r}; sheets are {list(self.sheets.ElementNames)}")
        self[name] = sheet = self.sheets.getByName(name)
        return sheet


def set_cell(cell, value):
    if value is None:
        cell.clearContents(CLEAR_CONTENT)
        # On a protected sheet the API may set a locked cell but silently refuses to clear it.
        if cell.getType().value != "EMPTY":
            raise ValueError(f"LibreOffice refused to clear {cell.AbsoluteName} (locked cell on a protected sheet?)")
    elif isinstance(value, str):
        cell.setString(value)  # always text, even "3": the caller says what it means
    elif isinstance(value, (int, float)):
        cell.setValue(float(value))
    else:
        raise TypeError(f"unsupported value {value!r}")


def read_cell(cell):
    kind = cell.getType().value
    out = {
        "value": cell.getValue(),
        "string": cell.getString(),
        "type": kind,
        "formula": cell.getFormula(),
        "error": cell.getError(),
    }
    if kind == "FORMULA":  # tells "" from 0 and errors apart without parsing strings
        out["result"] = FORMULA_RESULT.get(cell.FormulaResultType2)
    return out


def read_ref(sheets, ref):
    sheet = sheets[ref["sheet"]]
    if "range" in ref:
        rng = sheet.getCellRangeByName(ref["range"])
        a = rng.getRangeAddress()
        return [
            [read_cell(rng.getCellByPosition(c, r)) for c in range(a.EndColumn - a.StartColumn + 1)]
            for r in range(a.EndRow - a.StartRow + 1)
        ]
    return read_cell(sheet.getCellRangeByName(ref["cell"]))


def op_recalc(desktop, req):
    with opened(desktop, req["path"]) as doc:
        sheets = SheetCache(doc)
        for s in req.get("set") or []:
            cell = sheets[s["sheet"]].getCellRangeByName(s["cell"])
            if "formula" in s:
                cell.setFormula(s["formula"])
            else:
                set_cell(cell, s["value"])
        if req.get("calculate", True):
            doc.calculateAll()
        cells = [read_ref(sheets, r) for r in req.get("read") or []]
        out = req.get("save_as")
        if out:
            ext = os.path.splitext(out)[1].lower()
            if ext not in SAVE_FILTERS:
                raise ValueError(f"cannot save as {ext!r}; use one of {sorted(SAVE_FILTERS)}")
            doc.storeToURL(
                uno.systemPathToFileUrl(os.path.abspath(out)),
                (prop("FilterName", SAVE_FILTERS[ext]), prop("Overwrite", True)),
            )
    return {"cells": cells}


def validation_info(v):
    return {
        "type": v.Type.value,
        "operator": v.getOperator().value,
        "formula1": v.getFormula1(),
        "formula2": v.getFormula2(),
        "show_error": v.ShowErrorMessage,
        "error_style": v.ErrorAlertStyle.value,
        "error_title": v.ErrorTitle,
        "error_message": v.ErrorMessage,
        "show_input": v.ShowInputMessage,
        "input_title": v.InputTitle,
        "input_message": v.InputMessage,
        "ignore_blank": v.IgnoreBlankCells,
        "show_list": v.ShowList,
    }


def page_setup(doc, sheet):
    try:
        style = doc.StyleFamilies.getByName("PageStyles").getByName(sheet.PageStyle)
        rows = None
        if sheet.getPrintTitleRows():
            a = sheet.getTitleRows()
            rows = [a.StartRow + 1, a.EndRow + 1]
        return {
            "landscape": style.IsLandscape,
            "scale_to_pages_x": style.ScaleToPagesX,
            "scale_to_pages_y": style.ScaleToPagesY,
            "print_title_rows": rows,
        }
    except Exception as e:  # best effort only
        log("page setup unavailable:", e)
        return None


def op_inspect(desktop, req):
    with opened(desktop, req["path"]) as doc:
        names = list(doc.Sheets.ElementNames)
        cache = SheetCache(doc)
        sheets = []
        for name in req.get("sheets") or names:
            sh = cache[name]
            sheets.append(
                {
                    "name": name,
                    "protected": sh.isProtected(),
                    "visible": sh.IsVisible,
                    "conditional_formats": sh.ConditionalFormats.getLength(),
                    "page": page_setup(doc, sh),
                }
            )
        cells = []
        for ref in req.get("cells") or []:
            cell = cache[ref["sheet"]].getCellRangeByName(ref["cell"])
            p = cell.CellProtection
            v = cell.Validation
            cells.append(
                {
                    "sheet": ref["sheet"],
                    "cell": ref["cell"],
                    "locked": p.IsLocked,
                    "formula_hidden": p.IsFormulaHidden,
                    "hidden": p.IsHidden,
                    "validation": None if v.Type.value == "ANY" else validation_info(v),
                    "conditional_formats": cell.ConditionalFormat.getCount(),
                }
            )
        ranges = doc.NamedRanges
        return {
            "sheet_names": names,
            "sheets": sheets,
            "cells": cells,
            "named_ranges": {n: ranges.getByName(n).getContent() for n in ranges.ElementNames},
            # LO 7.4 does not import xlsx workbookProtection (notes 6.4): False for xlsx.
            "structure_protected": doc.isProtected(),
        }


def op_validate(desktop, req):
    # The UNO API has no "is this value valid" call. The detective's
    # XSheetAuditing.showInvalid() runs LibreOffice's own validation engine
    # over the sheet and circles each invalid cell, so: put the value in,
    # ask for the circles, and see whether one lands on our cell.
    with opened(desktop, req["path"]) as doc:
        sheet = SheetCache(doc)[req["sheet"]]
        cell = sheet.getCellRangeByName(req["cell"])
        v = cell.Validation
        set_cell(cell, req["value"])
        sheet.clearArrows()
        page = sheet.DrawPage
        before = page.getCount()
        sheet.showInvalid()
        # A merged cell's circle is centred on the whole merged area, not on its first cell.
        area = sheet.createCursorByRange(cell)
        area.collapseToMergedArea()
        pos, size = area.Position, area.Size
        circled = False
        for i in range(before, page.getCount()):
            s = page.getByIndex(i)
            cx = s.Position.X + s.Size.Width / 2
            cy = s.Position.Y + s.Size.Height / 2
            if pos.X <= cx <= pos.X + size.Width and pos.Y <= cy <= pos.Y + size.Height:
                circled = True
        return {"accepted": not circled, "method": "api", "type": v.Type.value, "error_style": v.ErrorAlertStyle.value}


OPS = {"recalc": op_recalc, "inspect": op_inspect, "validate": op_validate}


def send(obj):
    PROTO_OUT.write(json.dumps(obj, ensure_ascii=False) + "\n")
    PROTO_OUT.flush()


def serve(office):
    while True:
        line = PROTO_IN.readline()
        if not line:  # stdin closed: the client is gone
            return 0
        if not line.strip():
            continue
        try:
            req = json.loads(line)
            if req.get("op") == "quit":
                send({"ok": True})
                return 0
            if req.get("op") not in OPS:
                raise ValueError(f"unknown op {req.get('op')!r}; known: {sorted(OPS)} and quit")
            send({"ok": True, **OPS[req["op"]](office.desktop, req)})
        except Exception as e:
            log("request failed:", repr(e))
            if office.alive():
                send({"ok": False, "error": f"{type(e).__name__}: {e}"})
            else:  # soffice crashed: let the client start a fresh worker
                send({"ok": False, "fatal": True, "error": f"soffice died: {type(e).__name__}: {e}"})
                return 3


def main():
    # Turn SIGTERM/SIGHUP into SystemExit so the finally below kills soffice.
    for sig in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, lambda *_: sys.exit(1))
    t0 = time.monotonic()
    office = None
    try:
        office = Office()
        office.connect()
        send(
            {
                "ok": True,
                "ready": True,
                "soffice_pid": office.proc.pid,
                "profile": office.profile,
                "pipe": office.pipe,
                "startup_s": round(time.monotonic() - t0, 3),
            }
        )
        return serve(office)
    except Exception as e:
        send({"ok": False, "fatal": True, "error": f"startup failed: {type(e).__name__}: {e}"})
        return 2
    finally:
        if office is not None:
            office.stop()


if __name__ == "__main__":
    sys.exit(main())
