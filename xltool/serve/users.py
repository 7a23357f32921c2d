"""County administrators: added from the command line (or by another administrator), passwords in Argon2id."""

from __future__ import annotations

from sqlalchemy import func, select

from xltool.serve import audit
from xltool.serve.models import User
from xltool.serve.portal import Portal, PortalError
from xltool.serve.tokens import hash_password, verify_password, waste_time_like_a_login

MIN_PASSWORD = 8


def add_user(portal: Portal, name: str, password: str, actor: str = "") -> User:
    """A new administrator (PortalError for a name taken or a password too short)."""
    name = name.strip()
    if not name or len(name) > 100:
        raise PortalError("用户名不能为空，且不超过 100 个字符")
    if len(password) < MIN_PASSWORD:
        raise PortalError(f"密码至少 {MIN_PASSWORD} 个字符")
    hashed = hash_password(password)  # before the transaction: hashing takes a moment, the write lock must not wait
    with portal.writing() as session:
        if session.scalar(select(User).where(User.name == name)) is not None:
            raise PortalError(f"用户“{name}”已存在")
        user = User(name=name, password_hash=hashed)
        session.add(user)
        audit.record(session, actor or name, "user.add", detail=name)
    return user


def authenticate(portal: Portal, name: str, password: str) -> User | None:
    """The administrator with this name and password, else None (the same time spent either way)."""
    with portal.reading() as session:
        user = session.scalar(select(User).where(User.name == name.strip()))
    if user is None:
        waste_time_like_a_login()
        return None
    return user if verify_password(password, user.password_hash) else None


def count(portal: Portal) -> int:
    with portal.reading() as session:
        return session.scalar(select(func.count(User.id))) or 0
