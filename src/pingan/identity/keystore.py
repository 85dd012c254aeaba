"""Issuer private keys at rest: files in the data directory, encrypted when a passphrase is set.

- With ``PINGAN_IDENTITY__KEY_PASSPHRASE``: ``<data_dir>/identity/keys/<kid>.jwe``, the private
  JWK as a **compact JWE** (RFC 7516) with ``alg: PBES2-HS512+A256KW`` (RFC 7518 section 4.8:
  PBKDF2-HMAC-SHA512, :data:`KDF_ROUNDS` iterations, 16-byte salt, AES-256 key wrap) and
  ``enc: A256GCM``; any JOSE library with the passphrase reads it. (Encrypted PKCS#8 PEM was
  not chosen: ``cryptography`` writes it with OpenSSL's 2,048 PBKDF2 iterations.) A key file
  written before the passphrase was set (``<kid>.jwk``, plain) is migrated: the encrypted file
  is written and read back, then the plain one is removed.
- Without it: ``<kid>.jwk``, a plain private JWK, as before; a warning is logged once per
  process.

Every file is created with ``O_EXCL`` and mode 0600. A wrong passphrase, or an encrypted file
and no passphrase, is an :class:`IssuerKeyError` naming the file; the app checks every key at
start-up (:func:`check_keys`), so it refuses to start rather than fail at the first issuance.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import secrets
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.pbkdf2 import PBKDF2HMAC
from cryptography.hazmat.primitives.keywrap import InvalidUnwrap, aes_key_unwrap, aes_key_wrap

from pingan.identity import sdjwt
from pingan.identity.settings import identity_settings

log = logging.getLogger(__name__)

KDF_ROUNDS = 210_000
"""PBKDF2-HMAC-SHA512 iterations (``p2c``; OWASP's 2023 figure for SHA-512)."""
JWE_ALG = "PBES2-HS512+A256KW"
PLAIN_SUFFIX = ".jwk"
ENCRYPTED_SUFFIX = ".jwe"
PASSPHRASE_ENV = "PINGAN_IDENTITY__KEY_PASSPHRASE"

_warned = False
_cache: dict[tuple[str, str, str], sdjwt.PrivateKey] = {}
"""Decrypted keys by (directory, kid, passphrase): PBKDF2 costs a fraction of a second."""


class IssuerKeyError(RuntimeError):
    """An issuer key file cannot be read (wrong or missing passphrase, damaged file)."""


def keys_dir(data_dir: Path) -> Path:
    """``<data_dir>/identity/keys`` (created when missing)."""
    path = Path(data_dir) / "identity" / "keys"
    path.mkdir(parents=True, exist_ok=True)
    return path


def _passphrase() -> bytes | None:
    secret = identity_settings().key_passphrase
    value = secret.get_secret_value() if secret is not None else ""
    return value.encode("utf-8") if value else None


def _warn_plain() -> None:
    global _warned
    if not _warned:
        _warned = True
        log.warning(
            "identity: issuer keys are stored unencrypted (mode 0600 only); set %s to encrypt them",
            PASSPHRASE_ENV,
        )


def write_secret(path: Path, data: bytes) -> None:
    """Write ``data`` to a new file readable by its owner only (0600, ``O_EXCL``)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        os.write(fd, data)
    finally:
        os.close(fd)


def _kek(passphrase: bytes, p2s: bytes, p2c: int) -> bytes:
    """RFC 7518 section 4.8: PBKDF2-HMAC-SHA512 over ``alg || 0x00 || p2s``, 256 bits."""
    salt = JWE_ALG.encode() + b"\x00" + p2s
    return PBKDF2HMAC(hashes.SHA512(), 32, salt, p2c).derive(passphrase)


def _encrypt(key: sdjwt.PrivateKey, kid: str, passphrase: bytes) -> bytes:
    """The private JWK as a compact JWE (``PBES2-HS512+A256KW``, ``A256GCM``)."""
    p2s = secrets.token_bytes(16)
    header = {
        "alg": JWE_ALG,
        "enc": "A256GCM",
        "p2s": sdjwt.b64url_encode(p2s),
        "p2c": KDF_ROUNDS,
        "cty": "jwk+json",
        "kid": kid,
    }
    protected = sdjwt.b64url_encode(json.dumps(header, separators=(",", ":")).encode())
    cek = secrets.token_bytes(32)
    wrapped = aes_key_wrap(_kek(passphrase, p2s, KDF_ROUNDS), cek)
    iv = secrets.token_bytes(12)
    sealed = AESGCM(cek).encrypt(
        iv, json.dumps(sdjwt.private_jwk(key)).encode(), protected.encode("ascii")
    )
    parts = (wrapped, iv, sealed[:-16], sealed[-16:])
    return ".".join([protected, *(sdjwt.b64url_encode(p) for p in parts)]).encode("ascii")


def _decrypt(path: Path, passphrase: bytes | None) -> sdjwt.PrivateKey:
    if passphrase is None:
        raise IssuerKeyError(f"{path}: the issuer key is encrypted; set {PASSPHRASE_ENV}")
    try:
        protected, *rest = path.read_text(encoding="ascii").strip().split(".")
        wrapped, iv, ciphertext, tag = (sdjwt.b64url_decode(p) for p in rest)
        header = json.loads(sdjwt.b64url_decode(protected))
        if header.get("alg") != JWE_ALG or header.get("enc") != "A256GCM":
            raise ValueError("unexpected alg/enc")
        p2s, p2c = sdjwt.b64url_decode(header["p2s"]), int(header["p2c"])
    except (ValueError, KeyError, TypeError, sdjwt.SdJwtError) as exc:
        raise IssuerKeyError(f"{path}: not an encrypted issuer key (damaged file?)") from exc
    try:
        cek = aes_key_unwrap(_kek(passphrase, p2s, p2c), wrapped)
    except InvalidUnwrap:
        raise IssuerKeyError(
            f"{path}: cannot decrypt the issuer key: wrong {PASSPHRASE_ENV}"
        ) from None
    try:
        plain = AESGCM(cek).decrypt(iv, ciphertext + tag, protected.encode("ascii"))
    except InvalidTag:
        raise IssuerKeyError(f"{path}: the encrypted issuer key was altered") from None
    key = sdjwt.load_jwk(json.loads(plain), "issuer_key")
    if not isinstance(key, ec.EllipticCurvePrivateKey):
        raise IssuerKeyError(f"{path}: not an EC private key")
    return key


def _read_plain(path: Path) -> sdjwt.PrivateKey:
    try:
        key = sdjwt.load_jwk(json.loads(path.read_text(encoding="utf-8")), "issuer_key")
    except (ValueError, sdjwt.SdJwtError) as exc:
        raise IssuerKeyError(f"{path}: not a private JWK") from exc
    if not isinstance(key, ec.EllipticCurvePrivateKey):
        raise IssuerKeyError(f"{path}: not a private JWK")
    return key


def write_key(data_dir: Path, kid: str, key: sdjwt.PrivateKey) -> Path:
    """Store a new issuer key: encrypted when a passphrase is set, else a plain 0600 JWK."""
    passphrase = _passphrase()
    if passphrase is None:
        _warn_plain()
        path = keys_dir(data_dir) / f"{kid}{PLAIN_SUFFIX}"
        write_secret(path, json.dumps(sdjwt.private_jwk(key)).encode())
        return path
    path = keys_dir(data_dir) / f"{kid}{ENCRYPTED_SUFFIX}"
    write_secret(path, _encrypt(key, kid, passphrase))
    return path


def _migrate(plain: Path, passphrase: bytes) -> sdjwt.PrivateKey:
    """Encrypt a plain key file: write ``.pem``, read it back, then remove the ``.jwk``."""
    key = _read_plain(plain)
    target = plain.with_suffix(ENCRYPTED_SUFFIX)
    if not target.exists():
        write_secret(target, _encrypt(key, plain.stem, passphrase))
    if sdjwt.public_jwk(_decrypt(target, passphrase)) != sdjwt.public_jwk(key):
        raise IssuerKeyError(f"{target}: holds another key than {plain}")
    plain.unlink()
    log.info("identity: issuer key %s encrypted at rest", plain.stem)
    return key


def load_key(data_dir: Path, kid: str) -> sdjwt.PrivateKey:
    """The private key ``kid`` (a plain file is migrated when a passphrase is set)."""
    directory = keys_dir(data_dir)
    encrypted = directory / f"{kid}{ENCRYPTED_SUFFIX}"
    plain = directory / f"{kid}{PLAIN_SUFFIX}"
    passphrase = _passphrase()
    cache_key = (str(directory.resolve()), kid, hashlib.sha256(passphrase or b"").hexdigest())
    if passphrase is not None and plain.exists():
        key = _migrate(plain, passphrase)
    elif cache_key in _cache and (encrypted.exists() or plain.exists()):
        return _cache[cache_key]
    elif encrypted.exists():
        key = _decrypt(encrypted, passphrase)
    elif plain.exists():
        _warn_plain()
        key = _read_plain(plain)
    else:
        raise IssuerKeyError(f"{directory}: no key file for {kid}")
    _cache[cache_key] = key
    return key


def check_keys(data_dir: Path) -> list[str]:
    """Read every issuer key file (migrating plain ones when a passphrase is set); the kids.

    Raises :class:`IssuerKeyError` on the first file that cannot be read.
    """
    directory = keys_dir(data_dir)
    kids = sorted(
        {p.stem for p in directory.iterdir() if p.suffix in (PLAIN_SUFFIX, ENCRYPTED_SUFFIX)}
    )
    for kid in kids:
        load_key(data_dir, kid)
    return kids
