"""``pingan identity ...``: verify any SD-JWT, list the relying-party scenarios."""

from __future__ import annotations

import json
import secrets
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from pingan.core.i18n import console_language, register_catalogue
from pingan.core.i18n import console_text as t
from pingan.identity import sdjwt
from pingan.identity.scenarios import CATEGORIES, load_registry

register_catalogue(Path(__file__).parent / "locales")

app = typer.Typer(
    help="The digital ID desk: verify SD-JWT credentials, scenarios. / 数字身份：核验凭证、场景。",
    no_args_is_help=True,
)
console = Console()


def _read_key(value: str) -> sdjwt.AnyKey:
    """An issuer key from inline JWK JSON or a file holding one (a private JWK is reduced)."""
    text = value.strip()
    if not text.startswith("{"):
        path = Path(value)
        if not path.exists():
            raise typer.BadParameter(t("identity.cli.file_missing", path=value))
        text = path.read_text(encoding="utf-8")
    try:
        jwk = json.loads(text)
    except ValueError as exc:
        raise typer.BadParameter(t("identity.cli.key_invalid", detail="not JSON")) from exc
    if isinstance(jwk, dict) and isinstance(jwk.get("keys"), list) and jwk["keys"]:
        jwk = jwk["keys"][0]  # a JWKS: its first key
    try:
        key = sdjwt.load_jwk(jwk, "issuer_key")
    except sdjwt.SdJwtError as exc:
        raise typer.BadParameter(t("identity.cli.key_invalid", detail=exc.detail)) from exc
    return key.public_key() if isinstance(key, sdjwt.PrivateKey) else key


def _show(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


@app.command("verify")
def verify(
    file: Annotated[str, typer.Argument(help="SD-JWT file (compact or JSON), '-' for stdin.")],
    issuer_key: Annotated[
        str, typer.Option("--issuer-key", help="Issuer public JWK: JSON text or a file.")
    ],
    aud: Annotated[str | None, typer.Option("--aud", help="Expected KB-JWT audience.")] = None,
    nonce: Annotated[str | None, typer.Option("--nonce", help="Expected KB-JWT nonce.")] = None,
    typ: Annotated[
        list[str] | None, typer.Option("--typ", help="Accepted header typ (repeatable).")
    ] = None,
    now: Annotated[
        float | None, typer.Option("--now", help="Verify as of this Unix time (default: now).")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False,
) -> None:
    """Verify an SD-JWT and print the disclosed claims or the reason for rejection.

    / 核验 SD-JWT 凭证，输出披露的信息或拒绝原因。
    """
    if file == "-":
        text = sys.stdin.read()
    else:
        path = Path(file)
        if not path.exists():
            raise typer.BadParameter(t("identity.cli.file_missing", path=file))
        text = path.read_text(encoding="utf-8")
    key = _read_key(issuer_key)
    try:
        verified = sdjwt.verify(
            text,
            issuer_keys=key,
            expected_aud=aud,
            expected_nonce=nonce,
            now=now,
            accepted_typs=frozenset(typ) if typ else None,
        )
    except sdjwt.SdJwtError as exc:
        reason_text = t(f"identity.reason.{exc.reason}")
        if as_json:
            print(
                json.dumps(
                    {
                        "accepted": False,
                        "reason": exc.reason,
                        "part": exc.part,
                        "detail": exc.detail,
                        "message": reason_text,
                    },
                    ensure_ascii=False,
                )
            )
        else:
            message = t(
                "identity.cli.verify_failed", reason=reason_text, part=exc.part, detail=exc.detail
            )
            console.print(f"[red]{message}[/red]")
        raise typer.Exit(code=1) from None
    if as_json:
        print(
            json.dumps(
                {
                    "accepted": True,
                    "claims": verified.claims,
                    "disclosed": [list(p) for p in verified.disclosed_paths],
                },
                ensure_ascii=False,
            )
        )
        return
    console.print(f"[green]{t('identity.cli.verify_ok')}[/green]")
    disclosed = {p[0] for p in verified.disclosed_paths}
    table = Table(title=t("identity.cli.disclosed"))
    table.add_column(t("identity.cli.claim"))
    table.add_column(t("identity.cli.value"))
    table.add_column("SD")
    for name, value in verified.claims.items():
        table.add_row(name, _show(value), "✓" if name in disclosed else "")
    console.print(table)


@app.command("scenarios")
def scenarios() -> None:
    """List the relying-party scenarios and the claims each may ask for. / 列出核验场景。"""
    lang = console_language()
    table = Table()
    for column in ("id", "name", "category", "claims"):
        table.add_column(column)
    for scenario in load_registry().values():
        table.add_row(
            scenario.id,
            scenario.label(lang),
            CATEGORIES[scenario.category].get(lang, scenario.category),
            ", ".join(sorted(scenario.claims)),
        )
    console.print(table)


@app.command("demo")
def demo(
    out: Annotated[
        Path, typer.Option("--out", help="Directory to write the demo files to.")
    ] = Path("identity-demo"),
    scenario_id: Annotated[
        str, typer.Option("--scenario", help="Scenario the presentation is made for.")
    ] = "hotel_checkin",
) -> None:
    """Write demo keys, a resident credential, a presentation and a status list token.

    / 生成演示密钥、居民凭证、场景出示与状态列表。
    """
    from datetime import date

    from pingan.core import clock
    from pingan.identity.credential import issue_resident_credential, present_for_scenario
    from pingan.identity.scenarios import Resident, ScenarioError, get_scenario
    from pingan.identity.statuslist import StatusList, issue_status_list_token

    try:
        scenario = get_scenario(scenario_id)
    except ScenarioError as exc:
        raise typer.BadParameter(str(exc)) from None
    now = clock.now()
    issuer_key, holder_key = sdjwt.generate_key(), sdjwt.generate_key()
    uri = "https://pingan.example/identity/status/demo"
    audience = "https://rp.example/" + scenario.id
    nonce = secrets.token_urlsafe(12)
    resident = Resident("王小明", "11010519491231002X", date(1990, 5, 17), "朝阳区", "sha256-demo")
    credential = issue_resident_credential(
        resident,
        issuer_key=issuer_key,
        issuer="https://bureau.pingan.example",
        holder_jwk=sdjwt.public_jwk(holder_key),
        status_idx=3,
        status_uri=uri,
        now=now,
        kid="bureau-demo",
    ).serialized
    presentation = present_for_scenario(
        credential, scenario, holder_key=holder_key, nonce=nonce, audience=audience, now=now
    )
    status = issue_status_list_token(
        StatusList.empty(64, bits=2), uri=uri, key=issuer_key, iat=int(now.timestamp()), ttl=300
    )
    out.mkdir(parents=True, exist_ok=True)
    files = {
        "issuer.jwk": json.dumps(sdjwt.private_jwk(issuer_key)),
        "issuer.pub.jwk": json.dumps(sdjwt.public_jwk(issuer_key)),
        "holder.jwk": json.dumps(sdjwt.private_jwk(holder_key)),
        "credential.txt": credential,
        "presentation.txt": presentation,
        "status-list.jwt": status,
    }
    for name, text in files.items():
        (out / name).write_text(text + "\n", encoding="utf-8")
    console.print(f"{out}: {', '.join(files)}")
    console.print(
        f"pingan identity verify {out / 'presentation.txt'} --issuer-key {out / 'issuer.pub.jwk'}"
        f" --aud {audience} --nonce {nonce} --typ dc+sd-jwt"
    )


@app.command("status")
def status(
    token_file: Annotated[str, typer.Argument(help="Status list token (statuslist+jwt) file.")],
    issuer_key: Annotated[
        str, typer.Option("--issuer-key", help="Issuer public JWK: JSON text or a file.")
    ],
    uri: Annotated[str, typer.Option("--uri", help="The status list's URI (the token's sub).")],
    idx: Annotated[list[int] | None, typer.Option("--idx", help="Index to look up.")] = None,
    now: Annotated[
        float | None, typer.Option("--now", help="Check as of this Unix time (default: now).")
    ] = None,
) -> None:
    """Check a status list token and print statuses. / 核验状态列表并查询凭证状态。"""
    from pingan.core import clock
    from pingan.identity.statuslist import (
        STATUS_NAMES,
        StatusListError,
        verify_status_list_token,
    )

    path = Path(token_file)
    if not path.exists():
        raise typer.BadParameter(t("identity.cli.file_missing", path=token_file))
    key = _read_key(issuer_key)
    try:
        lst = verify_status_list_token(
            path.read_text(encoding="utf-8").strip(),
            key=key,
            expected_uri=uri,
            now=clock.now().timestamp() if now is None else now,
        )
        rows = [(i, lst.get(i)) for i in (idx or [])]
    except StatusListError as exc:
        reason_text = t(f"identity.reason.{exc.reason}")
        message = t(
            "identity.cli.verify_failed", reason=reason_text, part=exc.part, detail=exc.detail
        )
        console.print(f"[red]{message}[/red]")
        raise typer.Exit(code=1) from None
    console.print(f"bits={lst.bits} size={len(lst)}")
    for i, value in rows:
        console.print(f"{i}: {value} ({STATUS_NAMES.get(value, 'application-specific')})")


# ---------------------------------------------------------------------------- wallet

wallet_app = typer.Typer(
    help="The holder's wallet: key, credential, present to a relying party. / 数字身份钱包。",
    no_args_is_help=True,
)
app.add_typer(wallet_app, name="wallet")

DEFAULT_WALLET = Path.home() / ".pingan-wallet"
WalletDir = Annotated[
    Path, typer.Option("--dir", help="Wallet directory (holder key and credential).")
]


def _wallet_key(directory: Path) -> sdjwt.PrivateKey:
    path = directory / "holder.jwk"
    if not path.exists():
        console.print(f"[red]{t('identity.wallet_cli.no_wallet', dir=str(directory))}[/red]")
        raise typer.Exit(code=1)
    key = sdjwt.load_jwk(json.loads(path.read_text(encoding="utf-8")), "holder_key")
    assert isinstance(key, sdjwt.PrivateKey)
    return key


def http_client(host: str) -> Any:
    """An HTTP client for the platform at ``host`` (tests substitute the app's client)."""
    import httpx

    return httpx.Client(base_url=host, timeout=15.0)


def parse_request_ref(value: str, host: str | None) -> tuple[str, str]:
    """``(ref, host)`` from a bare reference or a QR payload ``pingan-id://request?ref=&host=``."""
    from urllib.parse import parse_qs, urlsplit

    if value.startswith("pingan-id://"):
        query = parse_qs(urlsplit(value).query)
        ref = (query.get("ref") or [""])[0]
        host = host or (query.get("host") or [""])[0]
    else:
        ref = value
    if not ref or not host:
        raise typer.BadParameter(t("identity.wallet_cli.fetch_failed", detail="ref/--host"))
    return ref, host.rstrip("/")


@wallet_app.command("init")
def wallet_init(directory: WalletDir = DEFAULT_WALLET) -> None:
    """Create the holder key (ES256) in the wallet directory. / 生成持有人密钥。"""
    import os

    path = directory / "holder.jwk"
    if path.exists():
        console.print(t("identity.wallet_cli.exists", dir=str(directory)))
        raise typer.Exit(code=1)
    directory.mkdir(parents=True, exist_ok=True)
    key = sdjwt.generate_key()
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(json.dumps(sdjwt.private_jwk(key)))
    (directory / "holder.pub.jwk").write_text(json.dumps(sdjwt.public_jwk(key)), encoding="utf-8")
    console.print(
        t(
            "identity.wallet_cli.initialised",
            dir=str(directory),
            thumbprint=sdjwt.jwk_thumbprint(key),
        )
    )


@wallet_app.command("import")
def wallet_import(
    file: Annotated[Path, typer.Argument(help="The issued SD-JWT VC (a file).")],
    directory: WalletDir = DEFAULT_WALLET,
) -> None:
    """Import the credential the bureau issued to this wallet's key. / 导入凭证。"""
    key = _wallet_key(directory)
    if not file.exists():
        raise typer.BadParameter(t("identity.cli.file_missing", path=str(file)))
    text = file.read_text(encoding="utf-8").strip()
    if text.startswith("{"):  # the issuance API's answer: {"sd_jwt": ...}
        text = str(json.loads(text).get("sd_jwt", ""))
    try:
        payload = sdjwt.parse(text).jwt.payload
    except sdjwt.SdJwtError as exc:
        raise typer.BadParameter(t("identity.cli.key_invalid", detail=exc.detail)) from None
    cnf = payload.get("cnf")
    jwk = cnf.get("jwk") if isinstance(cnf, dict) else None
    if not isinstance(jwk, dict) or sdjwt.jwk_thumbprint(jwk) != sdjwt.jwk_thumbprint(key):
        console.print(f"[red]{t('identity.wallet_cli.wrong_holder')}[/red]")
        raise typer.Exit(code=1)
    (directory / "credential.txt").write_text(text + "\n", encoding="utf-8")
    from datetime import UTC, datetime

    exp = datetime.fromtimestamp(int(payload.get("exp", 0)), tz=UTC).isoformat()
    console.print(t("identity.wallet_cli.imported", vct=payload.get("vct", ""), exp=exp))


@wallet_app.command("present")
def wallet_present(
    ref: Annotated[str, typer.Argument(help="Request reference or the QR payload.")],
    host: Annotated[
        str | None, typer.Option("--host", help="The platform, e.g. http://127.0.0.1:8000")
    ] = None,
    yes: Annotated[bool, typer.Option("--yes", help="Do not ask for confirmation.")] = False,
    directory: WalletDir = DEFAULT_WALLET,
) -> None:
    """Fetch a request, show who asks for what, present only those claims. / 出示凭证。"""
    from pingan.core import clock

    ref, base = parse_request_ref(ref, host)
    key = _wallet_key(directory)
    cred_path = directory / "credential.txt"
    if not cred_path.exists():
        console.print(f"[red]{t('identity.wallet_cli.no_credential')}[/red]")
        raise typer.Exit(code=1)
    lang = console_language()
    with http_client(base) as client:
        r = client.get(f"/api/identity/requests/{ref}")
        if r.status_code != 200:
            console.print(f"[red]{t('identity.wallet_cli.fetch_failed', detail=r.text)}[/red]")
            raise typer.Exit(code=1)
        asked = r.json()
        rp = asked["relying_party"].get(lang) or asked["relying_party"]["zh-CN"]
        scenario = asked["scenario"]
        console.print(
            f"[bold]{rp}[/bold] · {scenario['name'].get(lang) or scenario['name']['zh-CN']}"
        )
        console.print(t("identity.wallet_cli.asks", rp=rp, claims=", ".join(asked["claims"])))
        console.print(t("identity.wallet_cli.purpose", purpose=scenario["purpose"].get(lang, "")))
        if not yes and not typer.confirm(t("identity.wallet_cli.confirm")):
            console.print(t("identity.wallet_cli.declined"))
            raise typer.Exit(code=1)
        shown = sdjwt.present(
            cred_path.read_text(encoding="utf-8").strip(),
            {name: True for name in asked["claims"]},
            holder_key=key,
            nonce=asked["nonce"],
            aud=asked["aud"],
            iat=int(clock.now().timestamp()),
        )
        answer = client.post(f"/api/identity/requests/{ref}/response", json={"presentation": shown})
    verdict = answer.json()
    if answer.status_code == 200 and verdict.get("accepted"):
        console.print(f"[green]{t('identity.wallet_cli.accepted')}[/green]")
        return
    message = (verdict.get("message") or {}).get(lang, "") if isinstance(verdict, dict) else ""
    text = t("identity.wallet_cli.rejected", message=message, reason=verdict.get("reason"))
    console.print(f"[red]{text}[/red]")
    raise typer.Exit(code=1)


def parse_offer(value: str) -> dict[str, Any]:
    """A credential offer from ``openid-credential-offer://?credential_offer=...`` or its JSON."""
    from urllib.parse import parse_qs, urlsplit

    text = value.strip()
    if not text.startswith("{"):
        query = parse_qs(urlsplit(text).query)
        if "credential_offer_uri" in query:
            raise typer.BadParameter(
                t("identity.wallet_cli.bad_offer", detail="credential_offer_uri is not supported")
            )
        text = (query.get("credential_offer") or [""])[0]
    try:
        offer = json.loads(text)
    except ValueError:
        offer = None
    grants = offer.get("grants") if isinstance(offer, dict) else None
    grant = grants.get(PRE_AUTHORIZED_GRANT) if isinstance(grants, dict) else None
    if (
        not isinstance(offer, dict)
        or not isinstance(offer.get("credential_issuer"), str)
        or not isinstance(grant, dict)
        or not isinstance(grant.get("pre-authorized_code"), str)
        or not offer.get("credential_configuration_ids")
    ):
        raise typer.BadParameter(
            t("identity.wallet_cli.bad_offer", detail="no pre-authorized code offer")
        )
    return offer


PRE_AUTHORIZED_GRANT = "urn:ietf:params:oauth:grant-type:pre-authorized_code"


@wallet_app.command("receive")
def wallet_receive(
    offer_uri: Annotated[
        str, typer.Argument(help="The credential offer: openid-credential-offer://?... or JSON.")
    ],
    pin: Annotated[
        str | None, typer.Option("--pin", help="The PIN (tx_code) shown at the window or kiosk.")
    ] = None,
    host: Annotated[
        str | None,
        typer.Option("--host", help="Reach the issuer here instead (e.g. http://127.0.0.1:8000)."),
    ] = None,
    directory: WalletDir = DEFAULT_WALLET,
) -> None:
    """Receive a credential from an offer (OpenID4VCI pre-authorized code). / 领取凭证。"""
    from datetime import UTC, datetime
    from urllib.parse import urlsplit

    from pingan.core import clock

    offer = parse_offer(offer_uri)
    key = _wallet_key(directory)
    issuer = str(offer["credential_issuer"])
    grant = offer["grants"][PRE_AUTHORIZED_GRANT]
    parts = urlsplit(issuer)
    base = (host or f"{parts.scheme}://{parts.netloc}").rstrip("/")

    def at(url: str) -> str:  # with --host, the endpoints' paths on that host
        return urlsplit(url).path if host else url

    def fail(error: str, detail: str) -> typer.Exit:
        console.print(
            f"[red]{t('identity.wallet_cli.receive_failed', error=error, detail=detail)}[/red]"
        )
        return typer.Exit(code=1)

    if "tx_code" in grant and not pin:
        pin = typer.prompt(t("identity.wallet.pin"))
    with http_client(base) as client:
        meta = client.get(f"/.well-known/openid-credential-issuer{parts.path}")
        auth = client.get(f"/.well-known/oauth-authorization-server{parts.path}")
        if meta.status_code != 200 or auth.status_code != 200:
            raise fail("metadata", f"HTTP {meta.status_code}/{auth.status_code}")
        metadata, as_metadata = meta.json(), auth.json()
        if metadata.get("credential_issuer") != issuer:
            raise fail("metadata", "credential_issuer does not match the offer")
        form = {
            "grant_type": PRE_AUTHORIZED_GRANT,
            "pre-authorized_code": grant["pre-authorized_code"],
        }
        if pin:
            form["tx_code"] = pin
        token = client.post(at(as_metadata["token_endpoint"]), data=form)
        if token.status_code != 200:
            body = token.json()
            raise fail(body.get("error", ""), body.get("error_description", ""))
        access_token = token.json()["access_token"]
        nonce = client.post(at(metadata["nonce_endpoint"])).json()["c_nonce"]
        proof = sdjwt.jws_sign(
            {"alg": "ES256", "typ": "openid4vci-proof+jwt", "jwk": sdjwt.public_jwk(key)},
            {"aud": issuer, "iat": int(clock.now().timestamp()), "nonce": nonce},
            key,
        )
        answer = client.post(
            at(metadata["credential_endpoint"]),
            json={
                "credential_configuration_id": offer["credential_configuration_ids"][0],
                "proofs": {"jwt": [proof]},
            },
            headers={"Authorization": f"Bearer {access_token}"},
        )
    body = answer.json()
    if answer.status_code != 200:
        raise fail(body.get("error", ""), body.get("error_description", ""))
    credential = str(body["credentials"][0]["credential"])
    payload = sdjwt.parse(credential).jwt.payload
    cnf = payload.get("cnf")
    jwk = cnf.get("jwk") if isinstance(cnf, dict) else None
    if not isinstance(jwk, dict) or sdjwt.jwk_thumbprint(jwk) != sdjwt.jwk_thumbprint(key):
        console.print(f"[red]{t('identity.wallet_cli.wrong_holder')}[/red]")
        raise typer.Exit(code=1)
    (directory / "credential.txt").write_text(credential + "\n", encoding="utf-8")
    exp = datetime.fromtimestamp(int(payload.get("exp", 0)), tz=UTC).isoformat()
    console.print(t("identity.wallet_cli.received", vct=payload.get("vct", ""), exp=exp))


# ---------------------------------------------------------------------------- kiosks and keys

kiosk_app = typer.Typer(help="Self-service issuance kiosks. / 自助发证终端。", no_args_is_help=True)
app.add_typer(kiosk_app, name="kiosk")


@kiosk_app.command("register")
def kiosk_register(
    code: Annotated[str, typer.Argument(help="Kiosk code, e.g. chaoyang-hall-1.")],
    district: Annotated[str, typer.Option("--district", help="Jurisdiction code of its district.")],
    name: Annotated[str | None, typer.Option("--name", help="Display name.")] = None,
) -> None:
    """Register a kiosk and print its API key (once). / 登记自助终端并显示其 API 密钥。"""
    from pydantic import ValidationError

    from pingan.core.auth.permissions import Principal
    from pingan.core.db import Database
    from pingan.core.errors import PinganError
    from pingan.core.settings import get_settings
    from pingan.identity.selfservice import register_kiosk
    from pingan.identity.selfservice_schemas import KioskCreate

    try:
        kiosk_in = KioskCreate(code=code, name=name or code, district=district)
    except ValidationError as exc:
        raise typer.BadParameter(str(exc.errors()[0]["loc"][0])) from None
    settings = get_settings()
    db = Database(settings.database_url_resolved, pooled=False)
    try:
        with db.session() as session:
            _row, plain = register_kiosk(
                db=session, kiosk_in=kiosk_in, actor=Principal.system("cli")
            )
    except PinganError as exc:
        console.print(f"[red]{exc.message(console_language())}[/red]")
        raise typer.Exit(code=1) from None
    finally:
        db.dispose()
    console.print(t("identity.cli.kiosk_registered", code=code, district=district))
    print(plain)


keys_app = typer.Typer(help="Issuer key files. / 签发密钥文件。", no_args_is_help=True)
app.add_typer(keys_app, name="keys")


@keys_app.command("check")
def keys_check() -> None:
    """Read every issuer key file; encrypt plain ones when a passphrase is set. / 检查密钥。"""
    from pingan.core.settings import get_settings
    from pingan.identity.keystore import IssuerKeyError, check_keys
    from pingan.identity.settings import identity_settings

    try:
        kids = check_keys(get_settings().data_dir)
    except IssuerKeyError as exc:
        console.print(f"[red]{exc}[/red]")
        raise typer.Exit(code=1) from None
    encrypted = identity_settings().key_passphrase is not None
    mode = t("identity.cli.keys_encrypted" if encrypted else "identity.cli.keys_plain")
    console.print(t("identity.cli.keys_ok", count=len(kids), mode=mode))
