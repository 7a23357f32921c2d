"""Which forms there are: the built-in form files (templates/), forms from installed packages (entry points), and
forms given with `--form`; loading one file (through the cache for built-in forms), and finding a form by year or id.
Worker processes learn the parent's forms from `worker_forms()`."""

from __future__ import annotations

import os
import stat
from functools import cache
from importlib import resources
from pathlib import Path

from xltool import labels
from xltool.forms import cache as form_cache
from xltool.forms.build import build_form
from xltool.forms.model import Form, FormError
from xltool.oserrors import describe

MAX_FORM_BYTES = 5 * 1024 * 1024  # a form file is a few tens of KB
ENTRY_POINT_GROUP = "xltool.forms"  # packages ship forms (e.g. a province's 地方补充表) through this group
OFFICIAL_FAMILY = "gov-info-disclosure"


def templates_dir() -> Path:
    """templates/ ships inside the package as data (see pyproject), with a fallback to the source checkout."""
    packaged = resources.files("xltool") / "forms_data"
    if packaged.is_dir():
        return Path(str(packaged))
    return Path(__file__).resolve().parent.parent.parent / "templates"


_extra: dict[Path, Form] = {}  # forms added at run time (`--form FILE.yaml`)
_plugin_errors: list[str] = []


def register_form_file(path: str | Path) -> Form:
    """Load a form file given by the user (`--form`) and make it known to every reader and writer."""
    path = Path(path).resolve()
    if path not in _extra:
        _extra[path] = load_form(path, origin="文件")
        all_forms.cache_clear()
    return _extra[path]


def registered_files() -> list[Path]:
    """The form files given with `--form` in this process (worker processes register them again)."""
    return list(_extra)


class WorkerForms(list):
    """What a worker process needs to know the forms of this one: the `--form` files (the list itself, what worker
    initializers register) and the plugin forms found here. Unpickled in a worker, it makes those plugin forms known
    there, so no worker scans the installed packages for entry points again (~30 ms each)."""

    def __init__(self, files: list[Path], plugins: tuple[tuple[Path, str, str], ...], errors: tuple[str, ...]):
        super().__init__(files)
        self.plugins, self.errors = plugins, errors

    def __reduce__(self):
        return (_unpickled_worker_forms, (list(self), self.plugins, self.errors))


def _unpickled_worker_forms(files: list[Path], plugins: tuple, errors: tuple) -> WorkerForms:
    known = WorkerForms(files, plugins, errors)
    _use_plugins(known)
    return known


def worker_forms() -> WorkerForms:
    """The forms a worker process should know (worker initializers get it: `register_worker_forms`, or as the list of
    `--form` files to register). Finds the plugin forms here, once, if not done yet."""
    _builtin_and_plugins()
    return WorkerForms(list(_extra), tuple(_plugin_files), tuple(_plugin_errors))


def register_worker_forms(known: WorkerForms | list[Path]) -> None:
    """Worker initializer: the parent's plugin forms and `--form` files (see WorkerForms; a plain list of files is
    taken too, and then the worker looks for plugins itself)."""
    if isinstance(known, WorkerForms):
        _use_plugins(known)
    for f in known:
        register_form_file(f)


_given_plugins: WorkerForms | None = None  # the parent's plugin forms, in a worker process
_plugin_files: list[tuple[Path, str, str]] = []  # (file, origin, entry point) of each plugin form loaded


def _use_plugins(known: WorkerForms) -> None:
    """Take the plugin forms the parent found (unless this process has looked for plugins itself already)."""
    global _given_plugins
    if _given_plugins is None and _builtin_and_plugins.cache_info().currsize == 0:
        _given_plugins = known


@cache
def _builtin_and_plugins() -> tuple[Form, ...]:
    forms = [load_form(p) for p in sorted(templates_dir().glob("*.yaml"))]
    forms += _plugin_forms()
    return tuple(forms)


def _plugin_forms() -> list[Form]:
    """Forms from installed packages: an entry point names a YAML file, a folder of them, or a callable giving those.

    A broken plugin does not stop xltool: its problem is kept for `xltool forms` to show. In a worker process, the
    plugin forms its parent found (WorkerForms) are loaded from their files instead.
    """
    _plugin_errors.clear()
    _plugin_files.clear()
    out: list[Form] = []
    if _given_plugins is not None:
        for f, origin, name in _given_plugins.plugins:
            try:
                out.append(load_form(f, origin=origin))
            except Exception as exc:  # changed since the parent read it: reported as the parent would have
                _plugin_errors.append(f"{origin}（{name}）：{exc}")
                continue
            _plugin_files.append((f, origin, name))
        _plugin_errors.extend(e for e in _given_plugins.errors if e not in _plugin_errors)
        return out
    if not _may_have_plugins():
        return out
    from importlib.metadata import entry_points

    for ep in entry_points(group=ENTRY_POINT_GROUP):
        origin = f"插件 {ep.dist.name if ep.dist else ep.value}"
        try:
            target = ep.load()
            target = target() if callable(target) else target
            items = [target] if isinstance(target, (str, Path)) else list(target)
            for item in items:
                item = Path(str(item))
                files = sorted(item.glob("*.yaml")) if item.is_dir() else [item]
                for f in files:
                    out.append(load_form(f, origin=origin))
                    _plugin_files.append((f, origin, ep.name))
        except Exception as exc:  # any failure of third-party code is reported, never fatal
            _plugin_errors.append(f"{origin}（{ep.name}）：{exc}")
    return out


def _may_have_plugins() -> bool:
    """False when no installed package can declare an entry point in ENTRY_POINT_GROUP: every folder on sys.path that
    importlib.metadata would search was searched here (the `entry_points.txt` of each `*.dist-info` / `*.egg-info`),
    and none names the group. That is most installations, and it spares importing importlib.metadata and its scan of
    every installed package (~30 ms). True whenever in doubt (a zip on sys.path, another distribution finder), and
    when importlib.metadata is loaded already (a program, or a test, may have replaced `entry_points`): then it is
    asked, as always."""
    import sys
    from importlib.machinery import PathFinder

    if "importlib.metadata" in sys.modules:
        return True
    if any(f is not PathFinder and hasattr(f, "find_distributions") for f in sys.meta_path):
        return True
    group = ENTRY_POINT_GROUP.encode()
    for entry in sys.path:
        if not isinstance(entry, str):
            return True
        try:
            names = os.listdir(entry or ".")
        except NotADirectoryError:  # a zip file: importlib.metadata looks inside
            return True
        except OSError:  # a missing folder (python311.zip) has no packages
            continue
        for name in names:
            if not name.lower().endswith(("dist-info", "egg-info")):
                continue
            try:
                with open(os.path.join(entry or ".", name, "entry_points.txt"), "rb") as fh:
                    if group in fh.read():
                        return True
            except (FileNotFoundError, NotADirectoryError):  # no entry points, or a PKG-INFO file
                continue
            except OSError:
                return True
    return False


def plugin_errors() -> list[str]:
    _builtin_and_plugins()
    return list(_plugin_errors)


@cache
def all_forms() -> tuple[Form, ...]:
    """Built-in forms, plugin forms and forms given with `--form`, oldest first; one form per id (later wins)."""
    by_id: dict[str, Form] = {}
    for f in (*_builtin_and_plugins(), *_extra.values()):
        by_id[f.id] = f
    return tuple(sorted(by_id.values(), key=lambda f: (f.first_year, f.id)))


def form_for_year(year: int, family: str = OFFICIAL_FAMILY) -> Form:
    """The newest version of `family` whose years cover `year`."""
    covering = [f for f in all_forms() if f.form == family and f.covers(year)]
    if covering:
        return max(covering, key=lambda f: f.first_year)
    raise FormError(f"没有适用于 {year} 年度的报告格式（2019 年起才有统一格式）")


def form_by_id(form_id: str) -> Form:
    for f in all_forms():
        if f.id == form_id:
            return f
    for f in all_forms():  # a bare version ("2021") names the official form of that version
        if f.version == form_id and f.form == OFFICIAL_FAMILY:
            return f
    raise FormError(f"未知的报告格式 {form_id!r}")


def load_form(path: Path, origin: str = "内置") -> Form:
    """Load and validate one form file; FormError names the file and the place of every problem."""
    path = Path(path)
    try:
        info = os.stat(path)
        if not stat.S_ISREG(info.st_mode) or info.st_size > MAX_FORM_BYTES:  # never a pipe, device or huge file
            raise FormError(f"{path.name}: 不是普通的表单文件（或大于 {MAX_FORM_BYTES // 1048576} MB）")
        raw = path.read_bytes()
    except OSError as exc:
        raise FormError(f"{path.name}: 无法读取表单文件（{describe(exc)}）") from None
    cacheable = path.parent == templates_dir()  # built-in forms only
    cached = form_cache.cached(raw, path, origin) if cacheable else None
    if cached is not None:
        labels.add_aliases(cached.aliases)  # what building the form registers beside it
        return cached
    import yaml  # imported here: a cached form needs neither YAML nor pydantic

    from xltool import formschema

    try:
        data = yaml.safe_load(raw.decode("utf-8").replace("\r\n", "\n").replace("\r", "\n"))  # as read_text gives
    except UnicodeDecodeError:
        raise FormError(f"{path.name}: 表单文件应为 UTF-8 编码") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"第 {mark.line + 1} 行" if mark else ""
        raise FormError(f"{path.name}: {where} YAML 语法错误（{getattr(exc, 'problem', None) or exc}）") from None
    try:
        spec = formschema.validate(data, path.name).model_dump(mode="python")
    except ValueError as exc:
        raise FormError(str(exc)) from None
    try:
        form = build_form(spec, path, origin)
    except (KeyError, IndexError) as exc:
        raise FormError(f"{path.name}: 表单定义不一致（{exc}）") from None
    if cacheable:
        form_cache.store(form, raw, origin)
    return form
