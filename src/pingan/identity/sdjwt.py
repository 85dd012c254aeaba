"""Selective Disclosure for JWTs (SD-JWT, RFC 9901), with ES256 over ``cryptography``.

Pure functions and small dataclasses, no database, no HTTP:

- keys: :func:`load_jwk`, :func:`public_jwk`, :func:`generate_key` (EC P-256/P-384 JWKs);
- JWS compact: :func:`jws_sign`, :func:`parse_jws`, :func:`jws_verify` (ES256, ES384);
- disclosures (``[salt, name, value]`` and ``[salt, value]``), digests (SHA-256, base64url without
  padding), ``_sd`` arrays and ``{"...": digest}`` array elements, decoy digests and recursive
  disclosures (:func:`issue`, claims marked with :class:`SD`);
- presentation (:func:`present`): choose disclosures with a *frame* (the same shape as the
  reference implementation's ``holder_disclosed_claims``), parents included, and an optional
  Key Binding JWT (``kb+jwt``) over the verifier's nonce, audience and ``sd_hash``;
- verification (:func:`verify`): signature, ``typ``, ``exp``/``nbf``/``iat``, every disclosure
  referenced exactly once, no duplicate digests, no claim collisions, key binding;
- compact (``<JWT>~<D1>~...~<KB-JWT>``) and JWS JSON serialization (flattened and general,
  RFC 9901 section 8) for issuance, presentation and verification.

Every failure raises :class:`SdJwtError` with a machine ``reason`` code and the ``part`` at
fault (``jwt.header``, ``disclosure[2]``, ``kb_jwt.payload`` ...), never another exception type.
JSON is written like the reference implementation and the RFC examples (``json.dumps`` with its
default separators), so the example disclosures and digests are reproduced byte for byte.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import random
import re
import secrets
from collections import OrderedDict
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from itertools import zip_longest
from typing import Any, Literal, Protocol, TypeAlias

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import (
    decode_dss_signature,
    encode_dss_signature,
)
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from pingan.core import clock

SD_KEY = "_sd"
SD_ALG_KEY = "_sd_alg"
ELLIPSIS = "..."
KB_TYP = "kb+jwt"
SD_JWT_VC_TYP = "dc+sd-jwt"
#: HTTP media type of an SD-JWT VC (``application/`` + its ``typ``).
SD_JWT_VC_MEDIA_TYPE = "application/dc+sd-jwt"
DEFAULT_HASH_ALG = "sha-256"

PrivateKey: TypeAlias = ec.EllipticCurvePrivateKey
PublicKey: TypeAlias = ec.EllipticCurvePublicKey
AnyKey: TypeAlias = ec.EllipticCurvePrivateKey | ec.EllipticCurvePublicKey
Serialization: TypeAlias = Literal["compact", "flattened", "general"]
Decoys: TypeAlias = bool | Literal["disclosable_objects"]
#: What the holder discloses: ``True`` for a claim, a dict for an object's members, a list
#: (positional) for an array's elements; ``False``/``None``/absent keeps it hidden.
Frame: TypeAlias = Any

_HASHES: dict[str, Callable[[bytes], Any]] = {
    "sha-256": hashlib.sha256,
    "sha-384": hashlib.sha384,
    "sha-512": hashlib.sha512,
}


@dataclass(frozen=True)
class _Alg:
    curve: type[ec.EllipticCurve]
    crv: str
    hash: type[hashes.HashAlgorithm]
    size: int

    @property
    def ecdsa(self) -> ec.ECDSA:
        return _ECDSA[self.crv]


_ALGS: dict[str, _Alg] = {
    "ES256": _Alg(ec.SECP256R1, "P-256", hashes.SHA256, 32),
    "ES384": _Alg(ec.SECP384R1, "P-384", hashes.SHA384, 48),
}
_CRV_ALG = {a.crv: name for name, a in _ALGS.items()}
_ECDSA = {a.crv: ec.ECDSA(a.hash()) for a in _ALGS.values()}


class SdJwtError(Exception):
    """An SD-JWT (or one of its parts) was refused.

    ``reason`` is a stable machine code (``bad_signature``, ``expired``, ``unreferenced_disclosure``
    ...); ``part`` names the part at fault (``jwt.header``, ``disclosure[3]``, ``kb_jwt`` ...);
    ``detail`` is a short English explanation for logs and the CLI.
    """

    def __init__(self, reason: str, part: str, detail: str = "") -> None:
        super().__init__(f"{reason} ({part}){': ' + detail if detail else ''}")
        self.reason = reason
        self.part = part
        self.detail = detail


# --------------------------------------------------------------------------- encoding helpers


def b64url_encode(data: bytes) -> str:
    """Base64url without padding (RFC 7515 section 2)."""
    return base64.urlsafe_b64encode(data).decode("ascii").rstrip("=")


_B64URL = re.compile(r"[A-Za-z0-9_-]*")


def b64url_decode(text: str, part: str = "input") -> bytes:
    """Strict base64url decoding: no padding, no foreign characters, no impossible length."""
    if not isinstance(text, str):
        raise SdJwtError("malformed", part, "expected a base64url string")
    if len(text) % 4 == 1 or _B64URL.fullmatch(text) is None:
        raise SdJwtError("malformed", part, "not base64url (unpadded)")
    try:
        std = text.replace("-", "+").replace("_", "/") + "=" * (-len(text) % 4)
        return binascii.a2b_base64(std)
    except (binascii.Error, ValueError) as exc:  # pragma: no cover - guarded above
        raise SdJwtError("malformed", part, "not base64url") from exc


def json_dumps(value: Any) -> str:
    """JSON as the reference implementation and the RFC examples write it."""
    return json.dumps(value)


def _json_loads(raw: bytes | str, part: str) -> Any:
    try:
        return json.loads(raw)
    except (ValueError, RecursionError, UnicodeDecodeError) as exc:
        raise SdJwtError("malformed", part, "not JSON") from exc


def _json_object(raw: bytes | str, part: str) -> dict[str, Any]:
    value = _json_loads(raw, part)
    if not isinstance(value, dict):
        raise SdJwtError("malformed", part, "not a JSON object")
    return value


def digest(text: str, hash_alg: str = DEFAULT_HASH_ALG) -> str:
    """``base64url(hash(ASCII(text)))``: a disclosure's digest (or an SD-JWT's, for sd_hash)."""
    return b64url_encode(_HASHES[hash_alg](text.encode("ascii")).digest())


# --------------------------------------------------------------------------- keys


def generate_key(alg: str = "ES256") -> PrivateKey:
    """A fresh EC private key for ``alg``."""
    return ec.generate_private_key(_ALGS[alg].curve())


def _int_b64(value: int, size: int) -> str:
    return b64url_encode(value.to_bytes(size, "big"))


def public_jwk(key: AnyKey) -> dict[str, str]:
    """The public JWK of an EC key (members in the order jwcrypto writes them)."""
    public = key.public_key() if isinstance(key, ec.EllipticCurvePrivateKey) else key
    crv = {"secp256r1": "P-256", "secp384r1": "P-384"}.get(public.curve.name)
    if crv is None:
        raise SdJwtError("unsupported_key", "key", f"curve {public.curve.name}")
    size = _ALGS[_CRV_ALG[crv]].size
    numbers = public.public_numbers()
    return {"kty": "EC", "crv": crv, "x": _int_b64(numbers.x, size), "y": _int_b64(numbers.y, size)}


def private_jwk(key: PrivateKey) -> dict[str, str]:
    """The private JWK of an EC key (public members plus ``d``)."""
    jwk = public_jwk(key)
    jwk["d"] = _int_b64(key.private_numbers().private_value, _ALGS[_CRV_ALG[jwk["crv"]]].size)
    return jwk


def jwk_thumbprint(key: AnyKey | Mapping[str, Any]) -> str:
    """RFC 7638 JWK thumbprint (SHA-256) of an EC key: names a holder key without storing it."""
    jwk = (
        public_jwk(key)
        if isinstance(key, ec.EllipticCurvePublicKey | ec.EllipticCurvePrivateKey)
        else key
    )
    members = {name: jwk.get(name) for name in ("crv", "kty", "x", "y")}
    if not all(isinstance(v, str) for v in members.values()) or members["kty"] != "EC":
        raise SdJwtError("malformed", "jwk", "an EC JWK needs crv, kty, x and y")
    canonical = json.dumps(members, separators=(",", ":"), sort_keys=True)
    return b64url_encode(hashlib.sha256(canonical.encode("utf-8")).digest())


def load_jwk(jwk: Mapping[str, Any], part: str = "jwk") -> AnyKey:
    """An EC key from a JWK: private when it has ``d``, public otherwise."""
    if not isinstance(jwk, Mapping):
        raise SdJwtError("malformed", part, "a JWK must be a JSON object")
    if jwk.get("kty") != "EC":
        raise SdJwtError("unsupported_key", part, "only EC keys (kty=EC) are supported")
    if "d" in jwk:
        return _load_private(str(jwk.get("crv")), jwk.get("x"), jwk.get("y"), jwk["d"], part)
    return _public_from_members(jwk.get("crv"), jwk.get("x"), jwk.get("y"), part)


def _coordinate(value: Any, size: int, part: str, name: str) -> int:
    raw = b64url_decode(value, part) if isinstance(value, str) else b""
    if len(raw) != size:
        raise SdJwtError("malformed", part, f"JWK member {name!r} has the wrong length")
    return int.from_bytes(raw, "big")


def _load_private(crv: str, x: Any, y: Any, d: Any, part: str) -> PrivateKey:
    if crv not in _CRV_ALG:
        raise SdJwtError("unsupported_key", part, f"curve {crv!r}")
    a = _ALGS[_CRV_ALG[crv]]
    try:
        key = ec.derive_private_key(_coordinate(d, a.size, part, "d"), a.curve())
    except ValueError as exc:
        raise SdJwtError("malformed", part, "invalid private key") from exc
    if x is not None and public_jwk(key) != {"kty": "EC", "crv": crv, "x": x, "y": y}:
        raise SdJwtError("malformed", part, "private and public members do not match")
    return key


def _public_from_members(crv: Any, x: Any, y: Any, part: str) -> PublicKey:
    if not isinstance(crv, str) or not isinstance(x, str) or not isinstance(y, str):
        raise SdJwtError("malformed", part, "a JWK needs string crv, x and y")
    try:
        return _cached_public(crv, x, y)
    except SdJwtError as exc:
        raise SdJwtError(exc.reason, part, exc.detail) from None


@lru_cache(maxsize=4096)
def _cached_public(crv: str, x: str, y: str) -> PublicKey:
    if crv not in _CRV_ALG:
        raise SdJwtError("unsupported_key", "jwk", f"curve {crv!r}")
    a = _ALGS[_CRV_ALG[crv]]
    numbers = ec.EllipticCurvePublicNumbers(
        _coordinate(x, a.size, "jwk", "x"), _coordinate(y, a.size, "jwk", "y"), a.curve()
    )
    try:
        return numbers.public_key()
    except ValueError as exc:
        raise SdJwtError("malformed", "jwk", "the point is not on the curve") from exc


def _public(key: AnyKey) -> PublicKey:
    return key.public_key() if isinstance(key, ec.EllipticCurvePrivateKey) else key


def _alg_for(key: AnyKey) -> str:
    return _CRV_ALG[public_jwk(key)["crv"]]


# --------------------------------------------------------------------------- JWS compact


@dataclass(frozen=True)
class Jws:
    """A parsed JWS (not yet verified): decoded header and payload, the raw signing input."""

    header: dict[str, Any]
    payload: dict[str, Any]
    signing_input: bytes
    signature: bytes
    compact: str


def jws_sign(header: Mapping[str, Any], payload: Mapping[str, Any] | bytes, key: PrivateKey) -> str:
    """Sign ``payload`` with ``key`` under ``header`` (must carry ``alg``); JWS compact form."""
    alg = _ALGS.get(str(header.get("alg")))
    if alg is None:
        raise SdJwtError("unsupported_alg", "jwt.header", f"alg {header.get('alg')!r}")
    raw_payload = payload if isinstance(payload, bytes) else json_dumps(payload).encode()
    signing_input = (
        b64url_encode(json_dumps(dict(header)).encode()) + "." + b64url_encode(raw_payload)
    )
    return signing_input + "." + _sign_raw(signing_input.encode("ascii"), key, alg)


def _sign_raw(signing_input: bytes, key: PrivateKey, alg: _Alg) -> str:
    der = key.sign(signing_input, alg.ecdsa)
    r, s = decode_dss_signature(der)
    return b64url_encode(r.to_bytes(alg.size, "big") + s.to_bytes(alg.size, "big"))


def parse_jws(token: str, part: str = "jwt") -> Jws:
    """Split and decode a compact JWS; checks form only (no signature)."""
    if not isinstance(token, str) or token.count(".") != 2:
        raise SdJwtError("malformed", part, "a JWS has three dot-separated parts")
    h, p, s = token.split(".")
    header = _json_object(b64url_decode(h, part + ".header"), part + ".header")
    payload = _json_object(b64url_decode(p, part + ".payload"), part + ".payload")
    signature = b64url_decode(s, part + ".signature")
    return Jws(header, payload, (h + "." + p).encode("ascii"), signature, token)


def jws_verify(jws: Jws, key: AnyKey, part: str = "jwt") -> None:
    """Check ``jws``'s signature with ``key``; the header's ``alg`` must match the key."""
    alg_name = jws.header.get("alg")
    alg = _ALGS.get(alg_name) if isinstance(alg_name, str) else None
    if alg is None:
        raise SdJwtError("unsupported_alg", part + ".header", f"alg {alg_name!r}")
    if "crit" in jws.header:  # no extension is understood, so none may be critical
        raise SdJwtError("unsupported_crit", part + ".header", "critical header parameters")
    public = _public(key)
    if not isinstance(public.curve, alg.curve):
        raise SdJwtError("bad_signature", part, "the key does not fit the alg")
    if len(jws.signature) != 2 * alg.size:
        raise SdJwtError("bad_signature", part + ".signature", "wrong signature length")
    r = int.from_bytes(jws.signature[: alg.size], "big")
    s = int.from_bytes(jws.signature[alg.size :], "big")
    try:
        public.verify(encode_dss_signature(r, s), jws.signing_input, alg.ecdsa)
    except InvalidSignature:
        raise SdJwtError("bad_signature", part, "the signature does not verify") from None


# --------------------------------------------------------------------------- disclosures


@dataclass(frozen=True)
class SD:
    """Marks a claim as selectively disclosable: ``{SD("name"): v}`` or ``[SD(v), ...]``."""

    value: Any


@dataclass(frozen=True)
class Disclosure:
    """One disclosure: salt, claim name (``None`` for an array element), value; encoded form."""

    salt: str
    name: str | None
    value: Any
    encoded: str
    digest: str

    @classmethod
    def create(
        cls, salt: str, name: str | None, value: Any, hash_alg: str = DEFAULT_HASH_ALG
    ) -> Disclosure:
        """Build and encode a disclosure."""
        content = [salt, value] if name is None else [salt, name, value]
        encoded = b64url_encode(json_dumps(content).encode("utf-8"))
        return cls(salt, name, value, encoded, digest(encoded, hash_alg))

    @classmethod
    def parse(cls, encoded: str, part: str, hash_alg: str = DEFAULT_HASH_ALG) -> Disclosure:
        """Decode a disclosure, refusing any malformed one."""
        content = _json_loads(b64url_decode(encoded, part), part)
        if not isinstance(content, list) or len(content) not in (2, 3):
            raise SdJwtError("malformed_disclosure", part, "not a 2- or 3-element JSON array")
        if not isinstance(content[0], str):
            raise SdJwtError("malformed_disclosure", part, "the salt must be a string")
        if len(content) == 3:
            if not isinstance(content[1], str):
                raise SdJwtError("malformed_disclosure", part, "the claim name must be a string")
            if content[1] in (SD_KEY, ELLIPSIS):
                raise SdJwtError("forbidden_claim_name", part, f"claim name {content[1]!r}")
            return cls(content[0], content[1], content[2], encoded, digest(encoded, hash_alg))
        return cls(content[0], None, content[1], encoded, digest(encoded, hash_alg))


class Randomness(Protocol):
    """Where salts and decoy counts come from."""

    def salt(self) -> str:
        """A fresh salt (base64url of 128 random bits)."""
        ...

    def decoy_count(self) -> int:
        """How many decoy digests to add to one object."""
        ...


class SecureRandomness:
    """Salts from the OS CSPRNG (the default)."""

    def salt(self) -> str:
        """128 bits from ``secrets``."""
        return b64url_encode(secrets.token_bytes(16))

    def decoy_count(self) -> int:
        """Two to five decoys."""
        return 2 + secrets.randbelow(4)


class ExampleRandomness:
    """Deterministic salts that reproduce the RFC 9901 examples (seeded ``random``).

    Not for real credentials: the salts are predictable. It draws exactly what the reference
    implementation draws (16 ``getrandbits(8)`` per salt, ``randint(2, 5)`` decoys per object).
    """

    def __init__(self, seed: int = 0) -> None:
        self._random = random.Random(seed)

    def salt(self) -> str:
        """Sixteen seeded bytes."""
        return b64url_encode(bytes(self._random.getrandbits(8) for _ in range(16)))

    def decoy_count(self) -> int:
        """Two to five, seeded."""
        return self._random.randint(2, 5)


# --------------------------------------------------------------------------- issuance


@dataclass(frozen=True)
class Issued:
    """An issued SD-JWT: its serialization and the parts it was made of."""

    serialized: str
    jwt: str
    payload: dict[str, Any]
    disclosures: tuple[Disclosure, ...]
    decoy_digests: tuple[str, ...]


class _Builder:
    def __init__(self, randomness: Randomness, decoys: Decoys, hash_alg: str) -> None:
        self.randomness = randomness
        self.decoys = decoys
        self.hash_alg = hash_alg
        self.disclosures: list[Disclosure] = []
        self.decoy_digests: list[str] = []

    def build(self, value: Any) -> Any:
        if isinstance(value, dict):
            return self._object(value)
        if isinstance(value, list):
            return self._array(value)
        if isinstance(value, SD):
            raise SdJwtError("invalid_claims", "claims", "SD() wraps a claim name or array element")
        return value

    def _disclose(self, name: str | None, value: Any) -> str:
        disclosure = Disclosure.create(self.randomness.salt(), name, value, self.hash_alg)
        self.disclosures.append(disclosure)
        return disclosure.digest

    def _object(self, claims: dict[Any, Any]) -> dict[str, Any]:
        out: dict[str, Any] = {SD_KEY: []}
        for key, value in claims.items():
            name = key.value if isinstance(key, SD) else key
            if not isinstance(name, str):
                raise SdJwtError("invalid_claims", "claims", "claim names must be strings")
            if name in (SD_KEY, ELLIPSIS) or (name == SD_ALG_KEY and isinstance(key, SD)):
                raise SdJwtError("invalid_claims", "claims", f"reserved claim name {name!r}")
            sub = self.build(value)
            if isinstance(key, SD):
                out[SD_KEY].append(self._disclose(name, sub))
            else:
                out[name] = sub
        if self.decoys is True or (self.decoys == "disclosable_objects" and out[SD_KEY]):
            for _ in range(self.randomness.decoy_count()):
                decoy = digest(self.randomness.salt(), self.hash_alg)
                self.decoy_digests.append(decoy)
                out[SD_KEY].append(decoy)
        if out[SD_KEY]:
            out[SD_KEY].sort()
        else:
            del out[SD_KEY]
        return out

    def _array(self, items: list[Any]) -> list[Any]:
        out: list[Any] = []
        for item in items:
            if isinstance(item, SD):
                out.append({ELLIPSIS: self._disclose(None, self.build(item.value))})
            else:
                out.append(self.build(item))
        return out


def issue(
    claims: Mapping[Any, Any],
    *,
    issuer_key: PrivateKey,
    holder_jwk: Mapping[str, Any] | None = None,
    typ: str = SD_JWT_VC_TYP,
    kid: str | None = None,
    extra_header: Mapping[str, Any] | None = None,
    decoys: Decoys = False,
    randomness: Randomness | None = None,
    hash_alg: str = DEFAULT_HASH_ALG,
    serialization: Serialization = "compact",
    extra_signers: Sequence[tuple[PrivateKey, str | None]] = (),
) -> Issued:
    """Issue an SD-JWT over ``claims`` (mark disclosable names/elements with :class:`SD`).

    ``holder_jwk`` becomes ``cnf.jwk`` (key binding). ``decoys``: ``True`` adds 2-5 decoy
    digests to every object (as the reference does), ``"disclosable_objects"`` only to objects
    that have selectively disclosable claims. ``extra_signers`` (key, kid) add further
    signatures in the general JSON serialization.
    """
    if hash_alg not in _HASHES:
        raise SdJwtError("unsupported_sd_alg", "claims", hash_alg)
    builder = _Builder(randomness or SecureRandomness(), decoys, hash_alg)
    try:
        payload = builder.build(dict(claims))
        payload[SD_ALG_KEY] = hash_alg
        if holder_jwk is not None:
            payload["cnf"] = {"jwk": dict(holder_jwk)}
        payload_bytes = json_dumps(payload).encode()
    except (TypeError, ValueError) as exc:  # not JSON-serialisable, circular ...
        raise SdJwtError("invalid_claims", "claims", str(exc)) from None
    signers = [(issuer_key, kid), *extra_signers]
    compacts = []
    for key, key_id in signers:
        header: dict[str, Any] = {"alg": _alg_for(key), "typ": typ}
        if key_id is not None:
            header["kid"] = key_id
        header.update(extra_header or {})
        compacts.append(jws_sign(header, payload_bytes, key))
    jwt = compacts[0]
    disclosures = tuple(builder.disclosures)
    if serialization == "compact":
        if extra_signers:
            raise SdJwtError("invalid_request", "serialization", "compact form has one signature")
        serialized = "~".join([jwt, *(d.encoded for d in disclosures)]) + "~"
    else:
        serialized = _json_serialize(
            compacts, [d.encoded for d in disclosures], None, serialization
        )
    return Issued(serialized, jwt, payload, disclosures, tuple(builder.decoy_digests))


def _json_serialize(
    compacts: Sequence[str], disclosures: list[str], kb_jwt: str | None, form: Serialization
) -> str:
    unprotected: dict[str, Any] = {"disclosures": disclosures}
    if kb_jwt:
        unprotected["kb_jwt"] = kb_jwt
    first_h, payload, first_s = compacts[0].split(".")
    if form == "flattened":
        if len(compacts) != 1:
            raise SdJwtError("invalid_request", "serialization", "flattened has one signature")
        doc: dict[str, Any] = {
            "header": unprotected,
            "payload": payload,
            "protected": first_h,
            "signature": first_s,
        }
    else:
        signatures = []
        for i, compact in enumerate(compacts):
            h, _, s = compact.split(".")
            entry: dict[str, Any] = {"protected": h, "signature": s}
            if i == 0:
                entry["header"] = unprotected
            signatures.append(entry)
        doc = {"payload": payload, "signatures": signatures}
    return json_dumps(doc)


# --------------------------------------------------------------------------- parsing


@dataclass
class Parsed:
    """An SD-JWT or SD-JWT+KB split into its parts (nothing verified yet)."""

    jwt: Jws
    disclosures: list[str]
    kb_jwt: str | None
    serialization: Serialization
    other_signatures: list[Jws] = field(default_factory=list)
    json_doc: dict[str, Any] | None = None

    def sd_hash_input(self) -> str:
        """What ``sd_hash`` covers: ``<Issuer-signed JWT>~<D1>~...~<Dn>~`` (first signature)."""
        return "~".join([self.jwt.compact, *self.disclosures]) + "~"


def _string_list(value: Any, part: str) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise SdJwtError("malformed", part, "expected an array of strings")
    return value


def parse(serialized: str) -> Parsed:
    """Split a compact or JSON-serialized SD-JWT (or SD-JWT+KB) into its parts.

    JSON: RFC 9901 section 8 puts ``disclosures`` and ``kb_jwt`` in the unprotected ``header``
    (of the first signature in the general form); the layout of earlier drafts (top-level
    ``disclosures``/``kb_jwt``, as the 0.10 reference library writes) is read too.
    """
    if not isinstance(serialized, str):
        raise SdJwtError("malformed", "sd_jwt", "expected a string")
    text = serialized.strip()
    if text.startswith("{"):
        return _parse_json(text)
    if "~" not in text:
        raise SdJwtError("malformed", "sd_jwt", "no '~' separator: not an SD-JWT")
    parts = text.split("~")
    kb = parts[-1] or None
    disclosures = parts[1:-1]
    for i, d in enumerate(disclosures):
        if not d:
            raise SdJwtError("malformed", f"disclosure[{i}]", "empty disclosure")
    return Parsed(parse_jws(parts[0]), disclosures, kb, "compact")


def _parse_json(text: str) -> Parsed:
    doc = _json_object(text, "sd_jwt")
    payload = doc.get("payload")
    if not isinstance(payload, str):
        raise SdJwtError("malformed", "sd_jwt", "JSON serialization needs a payload string")
    if "signatures" in doc:
        sigs = doc["signatures"]
        if not isinstance(sigs, list) or not sigs or not all(isinstance(s, dict) for s in sigs):
            raise SdJwtError("malformed", "sd_jwt", "signatures must be a non-empty array")
        form: Serialization = "general"
    else:
        sigs = [doc]
        form = "flattened"
    jwss = []
    for i, sig in enumerate(sigs):
        h, s = sig.get("protected"), sig.get("signature")
        if not isinstance(h, str) or not isinstance(s, str):
            raise SdJwtError("malformed", f"signatures[{i}]", "protected and signature needed")
        jwss.append(parse_jws(f"{h}.{payload}.{s}", "jwt" if i == 0 else f"jwt[{i}]"))
    header = sigs[0].get("header", {})
    if not isinstance(header, dict):
        raise SdJwtError("malformed", "sd_jwt", "the unprotected header must be an object")
    holder = header if "disclosures" in header else doc
    if "disclosures" not in holder:
        raise SdJwtError("malformed", "sd_jwt", "no disclosures member")
    disclosures = _string_list(holder["disclosures"], "sd_jwt")
    kb = holder.get("kb_jwt") or None
    if kb is not None and not isinstance(kb, str):
        raise SdJwtError("malformed", "kb_jwt", "kb_jwt must be a string")
    return Parsed(jwss[0], list(disclosures), kb, form, jwss[1:], doc)


# --------------------------------------------------------------------------- presentation


def _index(disclosures: Sequence[str], hash_alg: str) -> dict[str, Disclosure]:
    by_digest: dict[str, Disclosure] = {}
    for i, encoded in enumerate(disclosures):
        d = Disclosure.parse(encoded, f"disclosure[{i}]", hash_alg)
        if d.digest in by_digest:
            raise SdJwtError("duplicate_disclosure", f"disclosure[{i}]", "disclosed twice")
        by_digest[d.digest] = d
    return by_digest


def _hash_alg_of(payload: Mapping[str, Any]) -> str:
    alg = payload.get(SD_ALG_KEY, DEFAULT_HASH_ALG)
    if not isinstance(alg, str) or alg not in _HASHES:
        raise SdJwtError("unsupported_sd_alg", "jwt.payload", f"_sd_alg {alg!r}")
    return alg


def select(parsed: Parsed, frame: Frame) -> list[str]:
    """The encoded disclosures that ``frame`` asks for, parents included, in payload order."""
    by_digest = _index(parsed.disclosures, _hash_alg_of(parsed.jwt.payload))
    chosen: list[str] = []

    def walk(node: Any, want: Frame) -> None:
        if want is None or want is False:
            return
        if isinstance(node, dict):
            members = {} if want is True else want
            if not isinstance(members, dict):
                raise SdJwtError("invalid_request", "frame", "an object needs an object frame")
            for key, value in node.items():
                if key == SD_KEY and isinstance(value, list):
                    for dig in value:
                        d = by_digest.get(dig) if isinstance(dig, str) else None
                        if d is None or d.name is None:
                            continue
                        if members.get(d.name):
                            chosen.append(d.encoded)
                            walk(d.value, members[d.name])
                else:
                    walk(value, members.get(key))
        elif isinstance(node, list):
            items = [] if want is True else want
            if not isinstance(items, list):
                raise SdJwtError("invalid_request", "frame", "an array needs an array frame")
            for element_want, element in zip_longest(items, node):
                if _is_ellipsis(element):
                    d = by_digest.get(element[ELLIPSIS])
                    if d is None or d.name is not None or element_want in (None, False):
                        continue
                    chosen.append(d.encoded)
                    walk(d.value, element_want)
                else:
                    walk(element, element_want)

    walk(parsed.jwt.payload, frame)
    return chosen


def frame_for(claims: Sequence[str]) -> dict[str, Any]:
    """A frame disclosing top-level claims and dotted paths (``address.locality``)."""
    frame: dict[str, Any] = {}
    for path in claims:
        node = frame
        names = path.split(".")
        for name in names[:-1]:
            child = node.get(name)
            if not isinstance(child, dict):  # a dict frame discloses the object too
                child = node[name] = {}
            node = child
        node.setdefault(names[-1], True)
    return frame


def _is_ellipsis(element: Any) -> bool:
    return (
        isinstance(element, dict)
        and len(element) == 1
        and ELLIPSIS in element
        and isinstance(element[ELLIPSIS], str)
    )


def present(
    serialized: str,
    frame: Frame,
    *,
    holder_key: PrivateKey | None = None,
    nonce: str | None = None,
    aud: str | None = None,
    iat: int | None = None,
) -> str:
    """A presentation of ``serialized`` disclosing what ``frame`` asks for.

    With ``holder_key`` a Key Binding JWT is appended: ``typ: kb+jwt``, ``iat`` (default: now
    on ``pingan.core.clock``), ``aud``, ``nonce`` and ``sd_hash`` over the presented SD-JWT.
    The output keeps the input's serialization (compact, flattened or general JSON).
    """
    parsed = parse(serialized)
    chosen = select(parsed, frame)
    chosen_parsed = Parsed(parsed.jwt, chosen, None, parsed.serialization)
    kb_jwt = None
    if holder_key is not None:
        if nonce is None or aud is None:
            raise SdJwtError("invalid_request", "kb_jwt", "key binding needs nonce and aud")
        sd_hash = digest(chosen_parsed.sd_hash_input(), _hash_alg_of(parsed.jwt.payload))
        kb_jwt = jws_sign(
            {"alg": _alg_for(holder_key), "typ": KB_TYP},
            {
                "nonce": nonce,
                "aud": aud,
                "iat": int(clock.now().timestamp()) if iat is None else iat,
                "sd_hash": sd_hash,
            },
            holder_key,
        )
    if parsed.serialization == "compact":
        return "~".join([parsed.jwt.compact, *chosen, kb_jwt or ""])
    compacts = [parsed.jwt.compact, *(j.compact for j in parsed.other_signatures)]
    return _json_serialize(compacts, chosen, kb_jwt, parsed.serialization)


# --------------------------------------------------------------------------- verification


@dataclass(frozen=True)
class Verified:
    """A verified SD-JWT: the processed claims and what they came from."""

    claims: dict[str, Any]
    header: dict[str, Any]
    payload: dict[str, Any]
    disclosures: tuple[Disclosure, ...]
    disclosed_paths: tuple[tuple[str | int, ...], ...]
    kb_payload: dict[str, Any] | None
    holder_jwk: dict[str, Any] | None


#: Resolves the issuer's public key from the unverified header and payload (``None``: unknown).
KeyResolver: TypeAlias = Callable[[Mapping[str, Any], Mapping[str, Any]], AnyKey | None]
IssuerKeys: TypeAlias = AnyKey | Sequence[AnyKey] | KeyResolver


def _candidates(
    keys: IssuerKeys, header: Mapping[str, Any], payload: Mapping[str, Any]
) -> list[AnyKey]:
    if isinstance(keys, ec.EllipticCurvePublicKey | ec.EllipticCurvePrivateKey):
        return [keys]
    if callable(keys):
        key = keys(header, payload)
        return [] if key is None else [key]
    return list(keys)


class SignatureCache:
    """Issuer signatures already verified (bounded LRU), for verifiers that see a credential again.

    A signature's validity depends only on the key, the signing input and the signature bytes,
    so a hit is as good as a fresh check; expiry, status and key binding are still checked on
    every presentation. Opt-in: pass one to :func:`verify`.
    """

    def __init__(self, size: int = 10_000) -> None:
        self.size = size
        self._seen: OrderedDict[tuple[bytes, bytes, bytes], None] = OrderedDict()

    @staticmethod
    def _key(jws: Jws, key: AnyKey) -> tuple[bytes, bytes, bytes]:
        point = _public(key).public_bytes(Encoding.X962, PublicFormat.UncompressedPoint)
        return (point, hashlib.sha256(jws.signing_input).digest(), jws.signature)

    def verified(self, jws: Jws, key: AnyKey) -> bool:
        """Whether this exact signature was verified with ``key`` before."""
        entry = self._key(jws, key)
        if entry in self._seen:
            self._seen.move_to_end(entry)
            return True
        return False

    def add(self, jws: Jws, key: AnyKey) -> None:
        """Remember a signature that verified."""
        self._seen[self._key(jws, key)] = None
        if len(self._seen) > self.size:
            self._seen.popitem(last=False)


def _verify_signatures(
    parsed: Parsed, keys: IssuerKeys, cache: SignatureCache | None = None
) -> None:
    """At least one signature must verify with a trusted issuer key."""
    last_error: SdJwtError | None = None
    for jws in [parsed.jwt, *parsed.other_signatures]:
        for key in _candidates(keys, jws.header, jws.payload):
            if cache is not None and cache.verified(jws, key):
                return
            try:
                jws_verify(jws, key, "jwt")
            except SdJwtError as exc:
                last_error = exc
                continue
            if cache is not None:
                cache.add(jws, key)
            return
    raise last_error or SdJwtError("unknown_issuer", "jwt", "no key known for this issuer")


def _numeric_claim(payload: Mapping[str, Any], name: str, part: str) -> float | None:
    value = payload.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise SdJwtError("malformed", part, f"{name} must be a number")
    return float(value)


def check_times(payload: Mapping[str, Any], now: float, leeway: float, part: str = "jwt") -> None:
    """``exp``, ``nbf`` and ``iat`` against ``now`` (seconds) with ``leeway``."""
    exp = _numeric_claim(payload, "exp", part + ".payload")
    nbf = _numeric_claim(payload, "nbf", part + ".payload")
    iat = _numeric_claim(payload, "iat", part + ".payload")
    if exp is not None and now >= exp + leeway:
        raise SdJwtError("expired", part, "exp has passed")
    if nbf is not None and now + leeway < nbf:
        raise SdJwtError("not_yet_valid", part, "nbf is in the future")
    if iat is not None and now + leeway < iat:
        raise SdJwtError("issued_in_future", part, "iat is in the future")


class _Processor:
    def __init__(self, by_digest: dict[str, Disclosure]) -> None:
        self.by_digest = by_digest
        self.seen: set[str] = set()
        self.used: list[Disclosure] = []
        self.paths: list[tuple[str | int, ...]] = []

    def _take(self, dig: Any, path: tuple[str | int, ...]) -> Disclosure | None:
        if not isinstance(dig, str):
            raise SdJwtError("malformed", "jwt.payload", f"non-string digest at {_dotted(path)}")
        if dig in self.seen:
            raise SdJwtError(
                "duplicate_digest", "jwt.payload", f"digest repeated at {_dotted(path)}"
            )
        self.seen.add(dig)
        d = self.by_digest.get(dig)
        if d is not None:
            self.used.append(d)
        return d

    def walk(self, node: Any, path: tuple[str | int, ...]) -> Any:
        if isinstance(node, dict):
            sd = node.get(SD_KEY)
            out = {k: self.walk(v, (*path, k)) for k, v in node.items() if k != SD_KEY}
            if sd is None:
                return out
            if not isinstance(sd, list):
                raise SdJwtError(
                    "malformed", "jwt.payload", f"_sd is not an array at {_dotted(path)}"
                )
            for dig in sd:
                d = self._take(dig, path)
                if d is None:
                    continue
                if d.name is None:
                    raise SdJwtError(
                        "disclosure_kind", _part_of(d, self.by_digest), "array element in _sd"
                    )
                if d.name in out:
                    raise SdJwtError(
                        "claim_collision", _part_of(d, self.by_digest), f"claim {d.name!r} twice"
                    )
                self.paths.append((*path, d.name))
                out[d.name] = self.walk(d.value, (*path, d.name))
            return out
        if isinstance(node, list):
            items: list[Any] = []
            for element in node:
                if _is_ellipsis(element):
                    d = self._take(element[ELLIPSIS], path)
                    if d is None:
                        continue
                    if d.name is not None:
                        raise SdJwtError(
                            "disclosure_kind", _part_of(d, self.by_digest), "object claim in array"
                        )
                    self.paths.append((*path, len(items)))
                    items.append(self.walk(d.value, (*path, len(items))))
                else:
                    items.append(self.walk(element, (*path, len(items))))
            return items
        return node


def _dotted(path: tuple[str | int, ...]) -> str:
    return ".".join(str(p) for p in path) or "(top level)"


def _part_of(d: Disclosure, by_digest: dict[str, Disclosure]) -> str:
    return f"disclosure[{list(by_digest).index(d.digest)}]"


def process(
    payload: Mapping[str, Any], disclosures: Sequence[str]
) -> tuple[dict[str, Any], tuple[Disclosure, ...], tuple[tuple[str | int, ...], ...]]:
    """Replace digests by the disclosed claims (RFC 9901 section 7.1, steps 3 to 5)."""
    hash_alg = _hash_alg_of(payload)
    by_digest = _index(disclosures, hash_alg)
    processor = _Processor(by_digest)
    try:
        claims = processor.walk(dict(payload), ())
    except RecursionError:
        raise SdJwtError("malformed", "jwt.payload", "nested too deeply") from None
    claims.pop(SD_ALG_KEY, None)
    used = {d.digest for d in processor.used}
    for i, d in enumerate(by_digest.values()):
        if d.digest not in used:
            raise SdJwtError(
                "unreferenced_disclosure", f"disclosure[{i}]", "its digest is not in the SD-JWT"
            )
    return claims, tuple(processor.used), tuple(processor.paths)


def verify(
    serialized: str,
    *,
    issuer_keys: IssuerKeys,
    expected_aud: str | None = None,
    expected_nonce: str | None = None,
    require_key_binding: bool = False,
    now: float | None = None,
    leeway: float = 60,
    kb_max_age: float = 300,
    accepted_typs: frozenset[str] | None = None,
    signature_cache: SignatureCache | None = None,
) -> Verified:
    """Verify an SD-JWT or SD-JWT+KB (compact or JSON) and return its disclosed claims.

    Raises :class:`SdJwtError` naming the reason and the part. ``accepted_typs`` (e.g.
    ``{"dc+sd-jwt"}``) checks the header ``typ``; ``expected_aud``/``expected_nonce`` are
    compared with the KB-JWT, which is then required. ``signature_cache`` skips re-checking an
    issuer signature this verifier has already checked (see :class:`SignatureCache`).
    """
    parsed = parse(serialized)
    return verify_parsed(
        parsed,
        issuer_keys=issuer_keys,
        expected_aud=expected_aud,
        expected_nonce=expected_nonce,
        require_key_binding=require_key_binding,
        now=now,
        leeway=leeway,
        kb_max_age=kb_max_age,
        accepted_typs=accepted_typs,
        signature_cache=signature_cache,
    )


def verify_parsed(
    parsed: Parsed,
    *,
    issuer_keys: IssuerKeys,
    expected_aud: str | None = None,
    expected_nonce: str | None = None,
    require_key_binding: bool = False,
    now: float | None = None,
    leeway: float = 60,
    kb_max_age: float = 300,
    accepted_typs: frozenset[str] | None = None,
    signature_cache: SignatureCache | None = None,
) -> Verified:
    """:func:`verify` on an already parsed SD-JWT."""
    now = clock.now().timestamp() if now is None else now
    header, payload = parsed.jwt.header, parsed.jwt.payload
    if header.get("alg") not in _ALGS:
        raise SdJwtError("unsupported_alg", "jwt.header", f"alg {header.get('alg')!r}")
    _verify_signatures(parsed, issuer_keys, signature_cache)
    if accepted_typs is not None and header.get("typ") not in accepted_typs:
        raise SdJwtError("wrong_typ", "jwt.header", f"typ {header.get('typ')!r}")
    check_times(payload, now, leeway)
    claims, used, paths = process(payload, parsed.disclosures)
    kb_payload = None
    cnf = payload.get("cnf")
    holder_jwk = cnf.get("jwk") if isinstance(cnf, dict) else None
    wants_kb = require_key_binding or expected_aud is not None or expected_nonce is not None
    if parsed.kb_jwt is None:
        if wants_kb:
            raise SdJwtError("kb_missing", "kb_jwt", "a Key Binding JWT is required")
    else:
        kb_payload = _verify_kb(
            parsed, holder_jwk, expected_aud, expected_nonce, now, leeway, kb_max_age
        )
    return Verified(
        claims,
        header,
        payload,
        used,
        paths,
        kb_payload,
        dict(holder_jwk) if isinstance(holder_jwk, dict) else None,
    )


def _verify_kb(
    parsed: Parsed,
    holder_jwk: Any,
    expected_aud: str | None,
    expected_nonce: str | None,
    now: float,
    leeway: float,
    kb_max_age: float,
) -> dict[str, Any]:
    assert parsed.kb_jwt is not None
    kb = parse_jws(parsed.kb_jwt, "kb_jwt")
    if kb.header.get("typ") != KB_TYP:
        raise SdJwtError("kb_wrong_typ", "kb_jwt.header", f"typ {kb.header.get('typ')!r}")
    if not isinstance(holder_jwk, dict):
        raise SdJwtError("no_holder_key", "jwt.payload", "no cnf.jwk to check key binding")
    holder_key = load_jwk(holder_jwk, "jwt.payload.cnf")
    try:
        jws_verify(kb, holder_key, "kb_jwt")
    except SdJwtError as exc:
        raise SdJwtError("kb_" + exc.reason, exc.part, exc.detail) from None
    p = kb.payload
    iat = _numeric_claim(p, "iat", "kb_jwt.payload")
    if iat is None:
        raise SdJwtError("malformed", "kb_jwt.payload", "iat is required")
    if iat > now + leeway:
        raise SdJwtError("kb_issued_in_future", "kb_jwt.payload", "iat is in the future")
    if now - iat > kb_max_age + leeway:
        raise SdJwtError("kb_stale", "kb_jwt.payload", "the key binding is too old")
    for name in ("nonce", "aud", "sd_hash"):
        if not isinstance(p.get(name), str):
            raise SdJwtError("malformed", "kb_jwt.payload", f"{name} must be a string")
    if expected_aud is not None and p["aud"] != expected_aud:
        raise SdJwtError("kb_wrong_audience", "kb_jwt.payload", "aud is not this verifier")
    if expected_nonce is not None and p["nonce"] != expected_nonce:
        raise SdJwtError("kb_wrong_nonce", "kb_jwt.payload", "nonce does not match")
    expected_hash = digest(parsed.sd_hash_input(), _hash_alg_of(parsed.jwt.payload))
    if p["sd_hash"] != expected_hash:
        raise SdJwtError("kb_sd_hash_mismatch", "kb_jwt.payload", "sd_hash does not match")
    return p


def iter_reasons() -> Iterator[str]:
    """Every reason code this module can raise (for catalogues and documentation)."""
    yield from REASONS


REASONS: tuple[str, ...] = (
    "malformed",
    "malformed_disclosure",
    "forbidden_claim_name",
    "unsupported_alg",
    "unsupported_key",
    "unsupported_sd_alg",
    "unsupported_crit",
    "bad_signature",
    "wrong_typ",
    "expired",
    "not_yet_valid",
    "issued_in_future",
    "duplicate_disclosure",
    "duplicate_digest",
    "disclosure_kind",
    "claim_collision",
    "unreferenced_disclosure",
    "unknown_issuer",
    "kb_missing",
    "kb_wrong_typ",
    "no_holder_key",
    "kb_bad_signature",
    "kb_unsupported_alg",
    "kb_unsupported_crit",
    "kb_issued_in_future",
    "kb_stale",
    "kb_wrong_audience",
    "kb_wrong_nonce",
    "kb_sd_hash_mismatch",
    "invalid_claims",
    "invalid_request",
)
