"""Encryption at rest for sensitive columns, and the blind index that finds them.

Values are sealed with AES-256-GCM under a key named by a short key id, stored as
`kid$base64(nonce|ciphertext)`. The key id is also the associated data, so a ciphertext cannot be
passed off under another key. Keys come from `KANGFU_DATA_KEYS` (first one encrypts, all decrypt), so
rotating means adding a key in front and running `kangfu keys rotate`.

Exact-match search uses HMAC-SHA256 under `KANGFU_INDEX_KEY`, with a purpose label so the same
number hashed as an ID and as a phone gives different digests.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
from functools import cache

from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured


class DecryptionError(Exception):
    """A stored value could not be opened: unknown key id or tampered ciphertext."""


@cache
def _keys() -> tuple[str, dict[str, AESGCM]]:
    spec = settings.KANGFU_DATA_KEYS
    keys: dict[str, AESGCM] = {}
    current = ""
    for part in (p.strip() for p in spec.split(",") if p.strip()):
        kid, sep, material = part.partition(":")
        if not sep or not kid.isalnum():
            raise ImproperlyConfigured("KANGFU_DATA_KEYS must look like 'kid:base64key,kid:base64key'.")
        raw = base64.b64decode(material)
        if len(raw) != 32:
            raise ImproperlyConfigured(f"Data key {kid!r} must be 32 bytes (base64 of 32 random bytes).")
        keys[kid] = AESGCM(raw)
        current = current or kid
    if not keys:
        raise ImproperlyConfigured("KANGFU_DATA_KEYS is empty.")
    return current, keys


@cache
def _index_key() -> bytes:
    raw = base64.b64decode(settings.KANGFU_INDEX_KEY)
    if len(raw) < 32:
        raise ImproperlyConfigured("KANGFU_INDEX_KEY must be at least 32 bytes (base64).")
    return raw


def current_key_id() -> str:
    return _keys()[0]


def encrypt(plaintext: str) -> str:
    kid, keys = _keys()
    nonce = os.urandom(12)
    sealed = keys[kid].encrypt(nonce, plaintext.encode(), kid.encode())
    return f"{kid}${base64.b64encode(nonce + sealed).decode()}"


def key_id_of(token: str) -> str:
    return token.partition("$")[0]


def decrypt(token: str) -> str:
    kid, sep, body = token.partition("$")
    _current, keys = _keys()
    if not sep or kid not in keys:
        raise DecryptionError(f"no data key {kid!r} is configured")
    raw = base64.b64decode(body)
    try:
        return keys[kid].decrypt(raw[:12], raw[12:], kid.encode()).decode()
    except Exception as exc:
        raise DecryptionError("ciphertext failed authentication") from exc


def blind_index(value: str, *, purpose: str) -> str:
    """Hex HMAC of a normalised value; '' for an empty value so blank columns stay blank."""
    if not value:
        return ""
    mac = _keyed_hmac(_index_key()).copy()
    mac.update(f"{purpose}:{value}".encode())
    return mac.hexdigest()


@cache
def _keyed_hmac(key: bytes) -> hmac.HMAC:
    """An HMAC with its key already absorbed: an import computes millions of indexes, and copying a
    keyed state costs a third less than keying a new one each time."""
    return hmac.new(key, digestmod=hashlib.sha256)


def new_key_material() -> str:
    return base64.b64encode(os.urandom(32)).decode()
