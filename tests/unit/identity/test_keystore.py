"""Issuer key files at rest: plain 0600 JWK without a passphrase, encrypted PKCS#8 with one."""

from __future__ import annotations

import json
import logging
import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
from jwcrypto.jwe import JWE
from jwcrypto.jwk import JWK

from pingan.identity import keystore, sdjwt
from pingan.identity.settings import identity_settings

PASSPHRASE = "correct horse battery staple"


@pytest.fixture(autouse=True)
def _fresh(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """No passphrase, no cached keys, no warning given yet; fewer KDF rounds for speed."""
    monkeypatch.delenv(keystore.PASSPHRASE_ENV, raising=False)
    monkeypatch.setattr(keystore, "_warned", False)
    monkeypatch.setattr(keystore, "_cache", {})
    monkeypatch.setattr(keystore, "KDF_ROUNDS", 1_000)
    identity_settings.cache_clear()
    yield
    identity_settings.cache_clear()


def _passphrase(monkeypatch: pytest.MonkeyPatch, value: str | None) -> None:
    if value is None:
        monkeypatch.delenv(keystore.PASSPHRASE_ENV, raising=False)
    else:
        monkeypatch.setenv(keystore.PASSPHRASE_ENV, value)
    identity_settings.cache_clear()
    keystore._cache.clear()


def _mode(path: Path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def test_without_a_passphrase_a_plain_jwk_and_one_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    key = sdjwt.generate_key()
    with caplog.at_level(logging.WARNING, logger="pingan.identity.keystore"):
        path = keystore.write_key(tmp_path, "k1", key)
        keystore.write_key(tmp_path, "k2", sdjwt.generate_key())
        loaded = keystore.load_key(tmp_path, "k1")
    assert path.name == "k1.jwk" and _mode(path) == 0o600
    assert json.loads(path.read_text())["d"]  # today's format
    assert sdjwt.private_jwk(loaded) == sdjwt.private_jwk(key)
    warnings = [r for r in caplog.records if keystore.PASSPHRASE_ENV in r.getMessage()]
    assert len(warnings) == 1


def test_with_a_passphrase_encrypted_pkcs8_round_trip(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _passphrase(monkeypatch, PASSPHRASE)
    key = sdjwt.generate_key()
    path = keystore.write_key(tmp_path, "k1", key)
    assert path.name == "k1.jwe" and _mode(path) == 0o600
    text = path.read_text()
    assert sdjwt.private_jwk(key)["d"] not in text and text.count(".") == 4
    # A standard JWE: another JOSE implementation (jwcrypto) decrypts it with the passphrase.
    jwe = JWE()
    jwe.deserialize(text, key=JWK.from_password(PASSPHRASE))
    assert jwe.jose_header["alg"] == "PBES2-HS512+A256KW" and jwe.jose_header["enc"] == "A256GCM"
    assert jwe.jose_header["kid"] == "k1" and jwe.jose_header["p2c"] == keystore.KDF_ROUNDS
    assert json.loads(jwe.payload) == sdjwt.private_jwk(key)
    keystore._cache.clear()
    assert sdjwt.private_jwk(keystore.load_key(tmp_path, "k1")) == sdjwt.private_jwk(key)
    assert keystore.check_keys(tmp_path) == ["k1"]


def test_a_plain_key_is_migrated_when_a_passphrase_is_set(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    key = sdjwt.generate_key()
    keystore.write_key(tmp_path, "old", key)
    _passphrase(monkeypatch, PASSPHRASE)
    assert keystore.check_keys(tmp_path) == ["old"]
    directory = keystore.keys_dir(tmp_path)
    assert not (directory / "old.jwk").exists()
    jwe = directory / "old.jwe"
    assert _mode(jwe) == 0o600 and sdjwt.private_jwk(key)["d"] not in jwe.read_text()
    keystore._cache.clear()
    assert sdjwt.private_jwk(keystore.load_key(tmp_path, "old")) == sdjwt.private_jwk(key)


def test_wrong_or_missing_passphrase_is_a_clear_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _passphrase(monkeypatch, PASSPHRASE)
    keystore.write_key(tmp_path, "k1", sdjwt.generate_key())
    keystore.load_key(tmp_path, "k1")  # cached under the right passphrase
    _passphrase(monkeypatch, "wrong")
    with pytest.raises(keystore.IssuerKeyError, match=r"cannot decrypt.*KEY_PASSPHRASE"):
        keystore.check_keys(tmp_path)
    _passphrase(monkeypatch, None)
    with pytest.raises(keystore.IssuerKeyError, match="encrypted; set"):
        keystore.load_key(tmp_path, "k1")
    with pytest.raises(keystore.IssuerKeyError, match="no key file"):
        keystore.load_key(tmp_path, "k9")


def test_a_damaged_plain_file_is_an_error(tmp_path: Path) -> None:
    keystore.write_secret(keystore.keys_dir(tmp_path) / "bad.jwk", b"{not json")
    with pytest.raises(keystore.IssuerKeyError, match="not a private JWK"):
        keystore.check_keys(tmp_path)
