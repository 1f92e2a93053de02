"""Tenants and their API keys, stored hashed in ``<state_dir>/tenants.json``.

A key reads ``psk_<key_id>_<secret>``: the key id is public (it names the key in listings and in
the audit topic), the secret is 256 random bits shown once by ``pagestream tenant add`` and never
stored. The file keeps, per key id, the tenant, a random salt and the scrypt hash of the secret;
checking a key looks its id up and compares hashes in constant time. The file is written
atomically (readable by its owner only) and re-read when it changes, so a key added while the
bridge runs works at once. Kept in the state directory rather than on a Kafka topic: one bridge
process serves the API (its embedded chDB has one owner), and the CLI can add keys with nothing
running.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import hashlib
import hmac
import json
import os
import re
import secrets
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pagestream.connectors.objectstore import ObjectStoreError, safe_part
from pagestream.streams.errors import PagestreamError

_KEY = re.compile(r"psk_([0-9a-f]{12})_([A-Za-z0-9_-]{20,100})")  # with fullmatch
_SCRYPT = {"n": 2**14, "r": 8, "p": 1, "dklen": 32}  # about 50 ms and 16 MB per check
_DECOY_SALT = secrets.token_bytes(16)  # what an unknown key id's secret is hashed with


class TenantError(PagestreamError):
    """A tenant name or key that cannot be used (the message says what is accepted)."""

    code = "bad_tenant"


@dataclass(frozen=True)
class Caller:
    """Who makes a request: the tenant its key belongs to and the key's public id."""

    tenant: str
    key_id: str


def is_operator(caller: Caller | None, operator_tenants: list[str]) -> bool:
    """Whether a caller may read the global operational views (they show every tenant's volumes):
    anyone when authentication is off (no caller), else the operator tenants' keys only."""
    return caller is None or caller.tenant in operator_tenants


def _hash(secret: str, salt: bytes) -> str:
    return hashlib.scrypt(secret.encode(), salt=salt, **_SCRYPT).hex()


_DECOY_HASH = _hash(secrets.token_urlsafe(32), _DECOY_SALT)


def check_name(tenant: str) -> str:
    """A tenant name is one object-key component (it namespaces the tenant's objects)."""
    try:
        return safe_part(tenant, "tenant")
    except ObjectStoreError as exc:
        raise TenantError(exc.message) from None


class TenantStore:
    """Tenants and hashed keys in one JSON file; thread-safe, shared by the bridge's handlers."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._mtime: int | None = None
        self._keys: dict[str, dict[str, Any]] = {}
        self._verified: dict[str, Caller] = {}  # sha256 of a checked key -> caller (skips scrypt)

    @contextlib.contextmanager
    def _locked_file(self) -> Iterator[None]:
        """An exclusive lock across processes (two CLI calls adding keys at once)."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.path.with_suffix(".lock"), "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)

    def _load(self) -> dict[str, dict[str, Any]]:
        """The keys, re-read when the file changed since the last read."""
        try:
            mtime = self.path.stat().st_mtime_ns
        except FileNotFoundError:
            self._mtime, self._keys, self._verified = None, {}, {}
            return self._keys
        if mtime != self._mtime:
            self._keys = json.loads(self.path.read_text())["keys"]
            self._mtime, self._verified = mtime, {}
        return self._keys

    def add(self, tenant: str) -> tuple[Caller, str]:
        """A new key for ``tenant`` (created with its first key): the caller and the plain key,
        which exists only in this return value."""
        check_name(tenant)
        key_id, secret = secrets.token_hex(6), secrets.token_urlsafe(32)
        salt = secrets.token_bytes(16)
        with self._locked_file(), self._lock:
            keys = dict(self._load())
            keys[key_id] = {
                "tenant": tenant,
                "salt": salt.hex(),
                "scrypt": _hash(secret, salt),
                "created_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            }
            tmp = self.path.with_suffix(".tmp")
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w") as out:
                json.dump({"keys": keys}, out, indent=1)
            os.replace(tmp, self.path)
            self._load()
        return Caller(tenant, key_id), f"psk_{key_id}_{secret}"

    def tenants(self) -> list[dict[str, Any]]:
        """Every tenant with its key ids and when each was created (never a hash)."""
        with self._lock:
            keys = self._load()
        found: dict[str, list[dict[str, str]]] = {}
        for key_id, entry in sorted(keys.items(), key=lambda item: item[1]["created_at"]):
            found.setdefault(entry["tenant"], []).append({"key_id": key_id, "created_at": entry["created_at"]})
        return [{"tenant": tenant, "keys": keys} for tenant, keys in sorted(found.items())]

    def cached(self, key: str) -> Caller | None:
        """The caller of a key checked before (no hashing), or None: then ``authenticate``."""
        digest = hashlib.sha256(key.encode()).hexdigest()
        with self._lock:
            self._load()
            return self._verified.get(digest)

    def authenticate(self, key: str) -> Caller | None:
        """The caller a key belongs to, or None for a malformed or unknown key. A well-formed key
        costs one scrypt hash whether or not its key id exists, so answers take as long for an
        unknown id as for a wrong secret and do not tell which key ids exist."""
        known = self.cached(key)
        if known is not None:
            return known
        match = _KEY.fullmatch(key)
        if match is None:
            return None
        with self._lock:
            entry = self._keys.get(match.group(1))
        salt, expected = (bytes.fromhex(entry["salt"]), entry["scrypt"]) if entry else (_DECOY_SALT, _DECOY_HASH)
        if not hmac.compare_digest(_hash(match.group(2), salt), expected) or entry is None:
            return None
        caller = Caller(entry["tenant"], match.group(1))
        with self._lock:
            self._verified[hashlib.sha256(key.encode()).hexdigest()] = caller
        return caller
