"""Bearer keys with roles: read ⊂ write ⊂ admin.

A key reads ``crd_<prefix>_<secret>``; the store keeps the prefix (to find the
row) and the SHA-256 of the whole key, compared in constant time. Each process
holds the active keys in memory and reloads them when the ``api_keys`` counter
moves, so checking a key costs no query. With no keys at all, only loopback
clients are served, with every role, and only when the request's ``Host`` names
the loopback interface: a page elsewhere that rebinds its own name to 127.0.0.1
(DNS rebinding) sends its own name as ``Host`` and is refused.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal, TypeVar, cast

from flask import Flask, Request
from sqlalchemy import Connection, select
from sqlalchemy.orm import Session

from service.store import change_counters
from service.store.models import ApiKey, utcnow

Role = Literal["read", "write", "admin"]
ROLES: tuple[Role, ...] = ("read", "write", "admin")
_RANK = {role: rank for rank, role in enumerate(ROLES)}
_ROLE_ATTRIBUTE = "_credence_role"

F = TypeVar("F", bound=Callable[..., object])


def requires(role: Role) -> Callable[[F], F]:
    """Mark a view as needing ``role``; checked before the body is read.

    Unmarked views need ``read`` for GET and ``admin`` for anything else.
    """

    def mark(view: F) -> F:
        setattr(view, _ROLE_ATTRIBUTE, role)
        return view

    return mark


def required_role(app: Flask, endpoint: str | None, method: str) -> Role:
    view = app.view_functions.get(endpoint or "")
    role: Role | None = getattr(view, _ROLE_ATTRIBUTE, None)
    if role is not None:
        return role
    return "read" if method in ("GET", "HEAD") else "admin"


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def create_key(session: Session, role: Role, name: str | None = None) -> str:
    """Store a new key in the caller's transaction and return it: the only time it is seen."""
    prefix = secrets.token_hex(6)
    key = f"crd_{prefix}_{secrets.token_urlsafe(32)}"
    session.add(ApiKey(prefix=prefix, secret_hash=hash_key(key), role=role, name=name))
    change_counters.bump(session, change_counters.API_KEYS)
    return key


def key_prefix(key_or_prefix: str) -> str:
    """The prefix that names a key: given as is, or taken from ``crd_<prefix>`` (the start
    of the printed key) or a whole ``crd_<prefix>_<secret>``."""
    parts = key_or_prefix.strip().split("_", 2)
    return parts[1] if len(parts) >= 2 and parts[0] == "crd" else key_or_prefix.strip()


def list_keys(session: Session) -> list[ApiKey]:
    """Every key, active and revoked, oldest first (their secrets are not stored)."""
    return list(session.scalars(select(ApiKey).order_by(ApiKey.created_at, ApiKey.id)))


def revoke_key(session: Session, prefix: str) -> bool | None:
    """Revoke the key named by ``prefix`` in the caller's transaction: True if it was
    active, False if it was revoked before, None if there is no such key.

    Bumping ``api_keys`` makes every process drop the key from its ring before it
    serves its next request (``service.app_state.AppState.refresh``).
    """
    row = session.scalar(select(ApiKey).where(ApiKey.prefix == prefix))
    if row is None or row.revoked_at is not None:
        return None if row is None else False
    row.revoked_at = utcnow()
    change_counters.bump(session, change_counters.API_KEYS)
    return True


@dataclass
class KeyRing:
    """This process's copy of the active keys: prefix -> (hash, role)."""

    version: int = -1
    keys: dict[str, tuple[str, Role]] = field(default_factory=dict)

    def refresh(self, connection: Connection, version: int) -> None:
        if version == self.version:
            return
        rows = connection.execute(
            select(ApiKey.prefix, ApiKey.secret_hash, ApiKey.role).where(
                ApiKey.revoked_at.is_(None)
            )
        )
        self.keys = {prefix: (digest, cast(Role, role)) for prefix, digest, role in rows}
        self.version = version

    def role_of(self, key: str) -> Role | None:
        parts = key.split("_", 2)
        if len(parts) != 3 or parts[0] != "crd":
            return None
        entry = self.keys.get(parts[1])
        if entry is None or not hmac.compare_digest(entry[0], hash_key(key)):
            return None
        return entry[1]


class Denied(Exception):
    def __init__(self, status: int, detail: str) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail


def authorize(ring: KeyRing, needed: Role, req: Request) -> Role:
    """The role of the caller of ``req``, or Denied (401 without valid credentials, 403
    without the role)."""
    scheme, _, key = req.headers.get("Authorization", "").partition(" ")
    if not ring.keys:
        # A key sent is checked even so: a revoked one must not pass once the last goes.
        if key.strip() and scheme.lower() == "bearer":
            raise Denied(401, "The API key is not valid.")
        refused = keyless_refusal(req)
        if refused is not None:
            raise Denied(403, refused)
        return "admin"
    if scheme.lower() != "bearer" or not key.strip():
        raise Denied(401, "Send an API key as 'Authorization: Bearer <key>'.")
    role = ring.role_of(key.strip())
    if role is None:
        raise Denied(401, "The API key is not valid.")
    if _RANK[role] < _RANK[needed]:
        raise Denied(403, f"This requires the '{needed}' role; the key has '{role}'.")
    return role


def keyless_refusal(req: Request) -> str | None:
    """Why ``req`` may not be served while no key exists, or None when it may."""
    if not is_loopback(req.remote_addr):
        return "No API keys are configured: only loopback clients are served."
    if not names_loopback(req.host):
        return (
            "No API keys are configured: only requests addressed to localhost or a "
            "loopback address are served."
        )
    return None


def names_loopback(host: str) -> bool:
    """Whether a ``Host`` header (with or without a port) names the loopback interface."""
    name = host.lower()
    if name.startswith("["):
        name = name[1:].partition("]")[0]
    elif name.count(":") == 1:
        name = name.partition(":")[0]
    return is_loopback(name)


def is_loopback(host: str | None) -> bool:
    """Whether a client address or a listening host is this machine."""
    if host is None:
        return False
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False
