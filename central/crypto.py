"""Secrets at rest: passwords hashed with argon2, tokens hashed with SHA-256, regulator
passwords encrypted with a key derived from ``CAUDAL_SECRET_KEY``.

Tokens are 256-bit random strings, so a fast hash is enough to make a stolen table
useless; user passwords are low-entropy and get argon2.
"""

from __future__ import annotations

import base64
import hashlib
import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

_hasher = PasswordHasher()

TOKEN_PREFIXES = {"session": "cau_s_", "personal": "cau_p_", "gateway": "cau_g_"}


class SecretKeyMissing(RuntimeError):
    """Storing a regulator password needs CAUDAL_SECRET_KEY."""


class UndecryptableSecret(ValueError):
    """A stored secret does not decrypt with the current key (the key changed?)."""


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(stored_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(stored_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def new_token(kind: str) -> str:
    """A fresh bearer token; the prefix tells a person (and a log scrubber) what it is."""
    return TOKEN_PREFIXES[kind] + secrets.token_urlsafe(32)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class SecretBox:
    """Encrypts short secrets (regulator passwords) for storage."""

    def __init__(self, secret_key: str | None) -> None:
        self._fernet = None if not secret_key else Fernet(_derive_key(secret_key))

    def encrypt(self, plaintext: str) -> str:
        if self._fernet is None:
            raise SecretKeyMissing("configure CAUDAL_SECRET_KEY antes de guardar secretos")
        return self._fernet.encrypt(plaintext.encode()).decode()

    def decrypt(self, ciphertext: str) -> str:
        if self._fernet is None:
            raise SecretKeyMissing("configure CAUDAL_SECRET_KEY para usar los secretos guardados")
        try:
            return self._fernet.decrypt(ciphertext.encode()).decode()
        except InvalidToken as exc:
            raise UndecryptableSecret("el secreto guardado no se descifra con CAUDAL_SECRET_KEY") from exc


def _derive_key(secret_key: str) -> bytes:
    raw = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"caudal-secret-box").derive(secret_key.encode())
    return base64.urlsafe_b64encode(raw)
