"""Commercial cryptography (GB/T 39786): SM3 digests and keyed MACs, SM4 encryption of personal data.

The algorithms come from ``cryptography`` (OpenSSL). The keys live in a key file outside the
database (``settings.KEY_FILE``, JSON, readable by the service account only)::

    {
      "data_keys":  {"d1": "<base64, 16 bytes>"},  "active_data_key":  "d1",
      "mac_keys":   {"m1": "<base64, 32 bytes>"},  "active_mac_key":   "m1",
      "index_key":  "<base64, 32 bytes>"
    }

Every ciphertext and MAC names the key that made it, so a new key can become active while rows
made with the old one stay readable until they are re-encrypted (``luoshi rotate_keys``, see
docs/operations.md). Outside production a missing key file is created on first use.
"""

import base64
import contextlib
import functools
import json
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes, hmac
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

CIPHERTEXT_PREFIX = "sm4gcm"
NONCE_BYTES = 12
TAG_BYTES = 16
FILE_CHUNK = 1024 * 1024


class DecryptionError(Exception):
    """A ciphertext was altered, or was made with a key the key file no longer has."""


@dataclass(frozen=True)
class KeyRing:
    data_keys: dict[str, bytes]
    active_data_key: str
    mac_keys: dict[str, bytes]
    active_mac_key: str
    index_key: bytes


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode()


def new_key_file_content(data_key_id: str = "d1", mac_key_id: str = "m1") -> dict:
    return {
        "data_keys": {data_key_id: _b64(secrets.token_bytes(16))},
        "active_data_key": data_key_id,
        "mac_keys": {mac_key_id: _b64(secrets.token_bytes(32))},
        "active_mac_key": mac_key_id,
        "index_key": _b64(secrets.token_bytes(32)),
    }


def write_key_file(path: Path, content: dict, *, exclusive: bool) -> None:
    """Write the key file readable by its owner only; ``exclusive`` refuses to replace one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    flags = os.O_WRONLY | os.O_CREAT | (os.O_EXCL if exclusive else os.O_TRUNC)
    descriptor = os.open(path, flags, 0o600)
    with os.fdopen(descriptor, "w") as handle:
        json.dump(content, handle, indent=2)


def _create_development_key_file(path: Path) -> None:
    # Another process (a parallel test worker) may make it first; then use theirs.
    with contextlib.suppress(FileExistsError):
        write_key_file(path, new_key_file_content(), exclusive=True)


@functools.lru_cache(maxsize=8)
def _load(path: str, modified: int | None) -> KeyRing:
    key_path = Path(path)
    if not key_path.exists():
        if settings.PRODUCTION:
            raise ImproperlyConfigured(f"LUOSHI_KEY_FILE {key_path} does not exist (see docs/security.md)")
        _create_development_key_file(key_path)
    try:
        content = json.loads(key_path.read_text())
        ring = KeyRing(
            data_keys={k: base64.b64decode(v) for k, v in content["data_keys"].items()},
            active_data_key=content["active_data_key"],
            mac_keys={k: base64.b64decode(v) for k, v in content["mac_keys"].items()},
            active_mac_key=content["active_mac_key"],
            index_key=base64.b64decode(content["index_key"]),
        )
    except (ValueError, KeyError, TypeError) as error:
        raise ImproperlyConfigured(f"key file {key_path} is malformed: {error}") from error
    if ring.active_data_key not in ring.data_keys or ring.active_mac_key not in ring.mac_keys:
        raise ImproperlyConfigured(f"key file {key_path}: the active key is not in the file")
    if any(len(key) != 16 for key in ring.data_keys.values()):
        raise ImproperlyConfigured(f"key file {key_path}: SM4 keys are 16 bytes")
    return ring


def keyring() -> KeyRing:
    # Keyed by the file's modification time: when ``rotate_keys`` replaces the file, every running
    # process encrypts with the new active key from its next call on, without a restart.
    path = Path(settings.KEY_FILE)
    try:
        modified = path.stat().st_mtime_ns
    except FileNotFoundError:
        modified = None
    return _load(str(path), modified)


def reload_keys() -> None:
    """Forget the loaded key files (a test that rewrites one within the clock's resolution)."""
    _load.cache_clear()


# SM3 ---------------------------------------------------------------------------------------------


def sm3(data: bytes) -> str:
    digest = hashes.Hash(hashes.SM3())
    digest.update(data)
    return digest.finalize().hex()


def sm3_file(handle) -> str:
    """The SM3 digest of an open binary file (or Django ``File``), read in chunks from the start."""
    digest = hashes.Hash(hashes.SM3())
    handle.seek(0)
    while chunk := handle.read(FILE_CHUNK):
        digest.update(chunk)
    handle.seek(0)
    return digest.finalize().hex()


def hmac_sm3(data: bytes, *, key_id: str | None = None) -> tuple[str, str]:
    """A keyed SM3 MAC of ``data``: (the key's id, the MAC in hex). The active key unless one is named."""
    ring = keyring()
    key_id = key_id or ring.active_mac_key
    try:
        key = ring.mac_keys[key_id]
    except KeyError as error:
        raise DecryptionError(f"MAC key {key_id} is not in the key file") from error
    mac = hmac.HMAC(key, hashes.SM3())
    mac.update(data)
    return key_id, mac.finalize().hex()


def blind_index(value: str) -> str:
    """A keyed digest of a normalised value, so encrypted columns can be searched by exact match."""
    mac = hmac.HMAC(keyring().index_key, hashes.SM3())
    mac.update("".join(value.split()).encode())
    return mac.finalize().hex()


# SM4 ---------------------------------------------------------------------------------------------


def encrypt(plaintext: str) -> str:
    """SM4-GCM with a fresh nonce: ``sm4gcm:<key id>:<base64 nonce+ciphertext+tag>``."""
    ring = keyring()
    nonce = secrets.token_bytes(NONCE_BYTES)
    encryptor = Cipher(algorithms.SM4(ring.data_keys[ring.active_data_key]), modes.GCM(nonce)).encryptor()
    body = encryptor.update(plaintext.encode()) + encryptor.finalize()
    return f"{CIPHERTEXT_PREFIX}:{ring.active_data_key}:{_b64(nonce + body + encryptor.tag)}"


def is_ciphertext(value: str) -> bool:
    return value.startswith(f"{CIPHERTEXT_PREFIX}:")


def ciphertext_key_id(token: str) -> str:
    return token.split(":", 2)[1]


def decrypt(token: str) -> str:
    try:
        prefix, key_id, payload = token.split(":", 2)
        raw = base64.b64decode(payload, validate=True)
    except ValueError as error:
        raise DecryptionError("not an SM4 ciphertext") from error
    key = keyring().data_keys.get(key_id)
    if prefix != CIPHERTEXT_PREFIX or key is None:
        raise DecryptionError(f"no data key {key_id} for this ciphertext")
    nonce, body, tag = raw[:NONCE_BYTES], raw[NONCE_BYTES:-TAG_BYTES], raw[-TAG_BYTES:]
    try:
        decryptor = Cipher(algorithms.SM4(key), modes.GCM(nonce, tag)).decryptor()
        return (decryptor.update(body) + decryptor.finalize()).decode()
    except (InvalidTag, ValueError) as error:
        raise DecryptionError("the ciphertext was altered") from error
