"""``pingan identity verify`` and ``pingan identity scenarios``; the reason catalogue."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from pingan.core.i18n import translate
from pingan.identity import sdjwt
from pingan.identity.cli import app
from pingan.identity.credential import VERDICT_REASONS

ISSUER = sdjwt.generate_key()
HOLDER = sdjwt.generate_key()
runner = CliRunner()


@pytest.fixture
def files(tmp_path: Path) -> dict[str, Path]:
    issued = sdjwt.issue(
        {"iss": "https://bureau", sdjwt.SD("name"): "张三", sdjwt.SD("id_number"): "X"},
        issuer_key=ISSUER,
        holder_jwk=sdjwt.public_jwk(HOLDER),
    )
    compact = sdjwt.present(
        issued.serialized, {"name": True}, holder_key=HOLDER, nonce="n1", aud="https://rp"
    )
    flattened = sdjwt.issue(
        {sdjwt.SD("name"): "李四"}, issuer_key=ISSUER, serialization="flattened"
    ).serialized
    out = {
        "compact": tmp_path / "p.txt",
        "json": tmp_path / "p.json",
        "key": tmp_path / "issuer.jwk",
        "other": tmp_path / "other.jwk",
    }
    out["compact"].write_text(compact + "\n")
    out["json"].write_text(flattened)
    out["key"].write_text(json.dumps(sdjwt.public_jwk(ISSUER)))
    out["other"].write_text(json.dumps(sdjwt.private_jwk(sdjwt.generate_key())))
    return out


def test_verify_compact_prints_disclosed_claims(files: dict[str, Path]) -> None:
    result = runner.invoke(
        app,
        [
            "verify",
            str(files["compact"]),
            "--issuer-key",
            str(files["key"]),
            "--nonce",
            "n1",
            "--aud",
            "https://rp",
            "--json",
        ],
    )
    assert result.exit_code == 0, result.output
    body = json.loads(result.output)
    assert body["accepted"] is True
    assert body["claims"]["name"] == "张三" and "id_number" not in body["claims"]
    assert body["disclosed"] == [["name"]]


def test_verify_json_serialization_with_inline_key(files: dict[str, Path]) -> None:
    key = json.dumps(sdjwt.public_jwk(ISSUER))
    result = runner.invoke(app, ["verify", str(files["json"]), "--issuer-key", key])
    assert result.exit_code == 0, result.output
    assert "李四" in result.output


def test_verify_prints_the_reason_for_rejection(files: dict[str, Path]) -> None:
    result = runner.invoke(
        app, ["verify", str(files["compact"]), "--issuer-key", str(files["other"]), "--json"]
    )
    assert result.exit_code == 1
    body = json.loads(result.output)
    assert (body["accepted"], body["reason"], body["part"]) == (False, "bad_signature", "jwt")
    wrong_nonce = runner.invoke(
        app,
        ["verify", str(files["compact"]), "--issuer-key", str(files["key"]), "--nonce", "n2"],
        env={"PINGAN_LANG": "en"},
    )
    assert wrong_nonce.exit_code == 1
    assert "The nonce does not match" in wrong_nonce.output


def test_verify_bad_key_and_missing_file(files: dict[str, Path], tmp_path: Path) -> None:
    bad = runner.invoke(app, ["verify", str(files["compact"]), "--issuer-key", '{"kty": "oct"}'])
    assert bad.exit_code != 0
    missing = runner.invoke(
        app, ["verify", str(tmp_path / "none.txt"), "--issuer-key", str(files["key"])]
    )
    assert missing.exit_code != 0


def test_scenarios_command_lists_the_registry() -> None:
    result = runner.invoke(app, ["scenarios"], env={"PINGAN_LANG": "en", "COLUMNS": "200"})
    assert result.exit_code == 0
    assert "internet_cafe" in result.output and "hotel_checkin" in result.output


def test_the_platform_cli_mounts_the_identity_group() -> None:
    from pingan.cli import app as platform_app

    result = runner.invoke(platform_app, ["identity", "--help"])
    assert result.exit_code == 0
    assert "verify" in result.output


@pytest.mark.parametrize("lang", ["zh-CN", "en"])
def test_every_reason_has_a_message(lang: str) -> None:
    for reason in (
        *sdjwt.REASONS,
        *VERDICT_REASONS,
        "status_index_out_of_range",
        "status_uri_mismatch",
    ):
        key = f"identity.reason.{reason}"
        assert translate(key, lang) != key, (lang, reason)


def test_demo_writes_files_that_verify(tmp_path: Path) -> None:
    from datetime import UTC, datetime

    from pingan.core import clock

    with clock.frozen(datetime(2026, 11, 29, 9, 0, tzinfo=UTC)):
        result = runner.invoke(
            app,
            ["demo", "--out", str(tmp_path), "--scenario", "internet_cafe"],
            env={"COLUMNS": "400"},
        )
    assert result.exit_code == 0, result.output
    command = result.output.strip().splitlines()[-1].split()
    assert command[:3] == ["pingan", "identity", "verify"]
    args = [
        *command[2:],
        "--json",
        "--now",
        str(datetime(2026, 11, 29, 9, 1, tzinfo=UTC).timestamp()),
    ]
    verified = runner.invoke(app, args)
    assert verified.exit_code == 0, verified.output
    body = json.loads(verified.output)
    assert body["disclosed"] == [["age_over_18"]]
    assert body["claims"]["age_over_18"] is True and "name" not in body["claims"]
    bad = runner.invoke(app, ["demo", "--out", str(tmp_path), "--scenario", "casino"])
    assert bad.exit_code != 0


def test_status_command_checks_the_token(tmp_path: Path) -> None:
    from pingan.identity.statuslist import StatusList, issue_status_list_token

    uri = "https://pingan.example/identity/status/7"
    token = issue_status_list_token(
        StatusList.from_statuses([0, 1, 2], bits=2), uri=uri, key=ISSUER, iat=1_800_000_000
    )
    (tmp_path / "s.jwt").write_text(token)
    key = json.dumps(sdjwt.public_jwk(ISSUER))
    args = ["status", str(tmp_path / "s.jwt"), "--issuer-key", key, "--uri", uri]
    ok = runner.invoke(app, [*args, "--idx", "1", "--idx", "2", "--now", "1800000100"])
    assert ok.exit_code == 0, ok.output
    assert "1: 1 (invalid)" in ok.output and "2: 2 (suspended)" in ok.output
    out_of_range = runner.invoke(app, [*args, "--idx", "99", "--now", "1800000100"])
    assert out_of_range.exit_code == 1
    wrong_uri = runner.invoke(
        app, ["status", str(tmp_path / "s.jwt"), "--issuer-key", key, "--uri", uri + "x"]
    )
    assert wrong_uri.exit_code == 1
