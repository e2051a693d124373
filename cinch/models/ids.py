"""Identifiers that are unique without coordination and sort by creation time (ULIDs)."""

from __future__ import annotations

import os
import threading
import time

_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"  # Crockford base32
_lock = threading.Lock()
_last_ms = 0
_last_rand = 0


def _encode(value: int, length: int) -> str:
    chars = []
    for _ in range(length):
        chars.append(_ALPHABET[value & 31])
        value >>= 5
    return "".join(reversed(chars))


def ulid() -> str:
    """A 26-character ULID; monotonic within one process so ids made in one millisecond sort."""
    global _last_ms, _last_rand
    with _lock:
        now = int(time.time() * 1000)
        if now <= _last_ms:
            now = _last_ms
            rand = _last_rand + 1
        else:
            rand = int.from_bytes(os.urandom(10), "big")
        _last_ms, _last_rand = now, rand
    return _encode(now, 10) + _encode(rand & ((1 << 80) - 1), 16)


def is_ulid(value: str) -> bool:
    return len(value) == 26 and all(c in _ALPHABET for c in value)


def object_id(prefix: str) -> str:
    """Stable id of a schema object (``t_`` table, ``c_`` column, ``i_`` index, ``v_`` view)."""
    return f"{prefix}_{ulid().lower()}"
