"""Encryption of secret values at rest: Fernet keys from ``settings.SECRETS_KEYS``.

The keys are newest first. New values are encrypted with the first key; every key
decrypts, so an operator rotates by putting a new key in front, running
``manage.py rotate_secrets`` and then dropping the old key.

With ``DEBUG=True`` and no ``SECRETS_KEYS`` a key is derived from ``SECRET_KEY``
so local setups need no configuration; production refuses to start without keys.
"""

from __future__ import annotations

import base64
import binascii
from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

__all__ = ["InvalidToken", "decrypt", "encrypt", "generate_key", "multi_fernet", "rotate"]

_DERIVATION_INFO = b"genauth-pipeline secrets v1"
# DEBUG as it was at start-up (see ``check_keys``): test runners switch settings.DEBUG
# off afterwards, but the choice to run without keys was made at start-up.
_started_in_debug = False


def generate_key() -> str:
    """A fresh key in the format SECRETS_KEYS expects."""
    return Fernet.generate_key().decode()


def derive_debug_key(secret_key: str) -> str:
    # HKDF rather than a bare hash: a key for one purpose, separated from Django's uses.
    material = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_DERIVATION_INFO)
    return base64.urlsafe_b64encode(material.derive(secret_key.encode())).decode()


def configured_keys() -> list[str]:
    keys = list(getattr(settings, "SECRETS_KEYS", []) or [])
    if keys:
        return keys
    if settings.DEBUG or _started_in_debug:
        return [derive_debug_key(settings.SECRET_KEY)]
    raise ImproperlyConfigured("SECRETS_KEYS: required when DEBUG is not True.")


@lru_cache(maxsize=8)
def _multi_fernet_for(keys: tuple[str, ...]) -> MultiFernet:
    fernets = []
    for position, key in enumerate(keys, start=1):
        try:
            fernets.append(Fernet(key.encode()))
        except (ValueError, binascii.Error):
            raise ImproperlyConfigured(
                f"SECRETS_KEYS: key {position} of {len(keys)} is not a Fernet key "
                "(32 bytes, URL-safe base64; create one with "
                "`python -c 'from cryptography.fernet import Fernet; "
                "print(Fernet.generate_key().decode())'`)."
            ) from None
    return MultiFernet(fernets)


def multi_fernet() -> MultiFernet:
    """The keys of the current settings (cached per key set, so tests may override them)."""
    return _multi_fernet_for(tuple(configured_keys()))


def check_keys() -> None:
    """Called at start-up: raise ImproperlyConfigured naming SECRETS_KEYS if a key is bad."""
    global _started_in_debug
    _started_in_debug = bool(settings.DEBUG)
    multi_fernet()


def encrypt(plaintext: str) -> str:
    return multi_fernet().encrypt(plaintext.encode()).decode()


def decrypt(token: str) -> str:
    """The plaintext; raises ``InvalidToken`` if no configured key made the token."""
    return multi_fernet().decrypt(token.encode()).decode()


def rotate(token: str) -> str:
    """The same plaintext, re-encrypted with the newest key."""
    return multi_fernet().rotate(token.encode()).decode()
