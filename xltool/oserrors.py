"""Operating-system errors in Chinese: what `exc.strerror` says in the system's language (usually English), said
for the clerk. Messages that quote why a file could not be opened or written use `describe(exc)`."""

from __future__ import annotations

import errno

_CHINESE = {
    errno.ENOENT: "文件或文件夹不存在，请检查名称和位置",
    errno.EACCES: "没有访问权限",
    errno.EPERM: "操作不被允许（没有权限）",
    errno.EISDIR: "这是文件夹，不是文件",
    errno.ENOTDIR: "路径中有一部分不是文件夹",
    errno.ENAMETOOLONG: "文件名太长",
    errno.ENOSPC: "磁盘空间不足",
    errno.EROFS: "所在磁盘是只读的",
    errno.ELOOP: "符号链接循环",
    errno.EMFILE: "同时打开的文件太多",
    errno.ENFILE: "同时打开的文件太多",
    errno.EIO: "读写出错（磁盘或网络故障）",
    errno.EBUSY: "文件正被占用",
    errno.EEXIST: "文件已存在",
    errno.EFBIG: "文件太大",
    errno.EINVAL: "名称或参数无效",
    errno.ENXIO: "设备不存在",
    errno.ENODEV: "设备不存在",
    errno.EAGAIN: "暂时无法访问，请稍后重试",
}
for _name, _text in (("EDQUOT", "超出磁盘配额"), ("ETXTBSY", "文件正被占用"), ("ESTALE", "网络文件已失效，请重新打开")):
    if hasattr(errno, _name):
        _CHINESE[getattr(errno, _name)] = _text


# Windows' own error numbers that its errno (EACCES) does not tell apart: a file another program holds open
_WINDOWS = {32: "文件正被其他程序打开（如 Excel、WPS），请先关闭它", 33: "文件的一部分被其他程序锁定，请先关闭它"}


def describe(exc: BaseException) -> str:
    """Why `exc` happened, in Chinese when the error number is a common one (else the system's own words)."""
    if getattr(exc, "winerror", None) in _WINDOWS:  # only Windows' errors carry one
        return _WINDOWS[exc.winerror]  # type: ignore[attr-defined]
    number = getattr(exc, "errno", None)
    if number in _CHINESE:
        return _CHINESE[number]
    return getattr(exc, "strerror", None) or str(exc)
