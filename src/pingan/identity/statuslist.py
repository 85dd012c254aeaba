"""IETF Token Status List (draft-ietf-oauth-status-list): revocation and suspension of credentials.

A status list is a byte array holding one status of ``bits`` (1, 2, 4 or 8) per credential;
index 0 is the least significant bits of the first byte. It travels compressed with zlib
DEFLATE (RFC 1950, best compression) and base64url-encoded as ``lst`` inside a status list
token: a JWT with ``typ: statuslist+jwt``, ``sub`` (the list's URI), ``iat``, optional
``exp``/``ttl`` and ``status_list: {"bits": ..., "lst": ...}``. A credential points into it
with ``status: {"status_list": {"idx": ..., "uri": ...}}``.

Pure functions, no HTTP: the platform serves the token; verifiers fetch it and call
:func:`verify_status_list_token` then :meth:`StatusList.get`.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from pingan.identity.sdjwt import (
    AnyKey,
    PrivateKey,
    SdJwtError,
    b64url_decode,
    b64url_encode,
    check_times,
    jws_sign,
    jws_verify,
    parse_jws,
)

VALID = 0x00
INVALID = 0x01
SUSPENDED = 0x02
APPLICATION_SPECIFIC = 0x03
STATUS_NAMES = {VALID: "valid", INVALID: "invalid", SUSPENDED: "suspended"}
STATUS_LIST_TYP = "statuslist+jwt"
#: HTTP media type a status list token is served with.
STATUS_LIST_MEDIA_TYPE = "application/statuslist+jwt"
ALLOWED_BITS = (1, 2, 4, 8)
#: Refuse lists that would decompress beyond this (a zip bomb guard): 16 MiB.
MAX_LIST_BYTES = 16 * 1024 * 1024


class StatusListError(SdJwtError):
    """A status list, its token or a status reference was refused (``reason`` and ``part``)."""


@dataclass
class StatusList:
    """A mutable list of statuses, ``bits`` per entry."""

    bits: int
    data: bytearray

    @classmethod
    def empty(cls, size: int, bits: int = 1) -> StatusList:
        """``size`` entries, all VALID."""
        _check_bits(bits)
        if size < 0:
            raise StatusListError("invalid_request", "status_list", "negative size")
        return cls(bits, bytearray((size * bits + 7) // 8))

    @classmethod
    def from_statuses(cls, statuses: Iterable[int], bits: int = 1) -> StatusList:
        """A list holding ``statuses`` in order."""
        values = list(statuses)
        lst = cls.empty(len(values), bits)
        for idx, value in enumerate(values):
            lst.set(idx, value)
        return lst

    def __len__(self) -> int:
        return len(self.data) * 8 // self.bits

    def get(self, idx: int) -> int:
        """The status at ``idx``."""
        if isinstance(idx, bool) or not isinstance(idx, int) or not 0 <= idx < len(self):
            raise StatusListError("status_index_out_of_range", "status.idx", f"idx {idx!r}")
        per_byte = 8 // self.bits
        shift = (idx % per_byte) * self.bits
        return (self.data[idx // per_byte] >> shift) & ((1 << self.bits) - 1)

    def set(self, idx: int, value: int) -> None:
        """Set the status at ``idx`` to ``value`` (fits in ``bits``)."""
        if not 0 <= value < (1 << self.bits):
            raise StatusListError(
                "invalid_request", "status", f"{value} needs more than {self.bits} bits"
            )
        if not 0 <= idx < len(self):
            raise StatusListError("status_index_out_of_range", "status.idx", f"idx {idx!r}")
        per_byte = 8 // self.bits
        shift = (idx % per_byte) * self.bits
        mask = ((1 << self.bits) - 1) << shift
        pos = idx // per_byte
        self.data[pos] = (self.data[pos] & ~mask) | (value << shift)

    def encode(self) -> str:
        """``lst``: zlib DEFLATE (level 9) then base64url without padding."""
        return b64url_encode(zlib.compress(bytes(self.data), 9))

    @classmethod
    def decode(cls, lst: str, bits: int) -> StatusList:
        """The list from its ``lst`` encoding."""
        _check_bits(bits)
        try:
            raw = b64url_decode(lst, "status_list.lst")
        except SdJwtError as exc:
            raise StatusListError(exc.reason, exc.part, exc.detail) from None
        decompressor = zlib.decompressobj()
        try:
            data = decompressor.decompress(raw, MAX_LIST_BYTES)
        except zlib.error as exc:
            raise StatusListError("malformed", "status_list.lst", "not zlib DEFLATE data") from exc
        if decompressor.unconsumed_tail:
            raise StatusListError("malformed", "status_list.lst", "status list too large")
        if not decompressor.eof:
            raise StatusListError("malformed", "status_list.lst", "truncated zlib stream")
        return cls(bits, bytearray(data))

    def to_claim(self) -> dict[str, Any]:
        """The ``status_list`` claim: ``{"bits": ..., "lst": ...}``."""
        return {"bits": self.bits, "lst": self.encode()}

    @classmethod
    def from_claim(cls, claim: Any) -> StatusList:
        """The list from a ``status_list`` claim."""
        if not isinstance(claim, Mapping):
            raise StatusListError("malformed", "status_list", "status_list must be an object")
        bits, lst = claim.get("bits"), claim.get("lst")
        if isinstance(bits, bool) or not isinstance(bits, int) or not isinstance(lst, str):
            raise StatusListError("malformed", "status_list", "bits (number) and lst (string)")
        return cls.decode(lst, bits)


def _check_bits(bits: int) -> None:
    if bits not in ALLOWED_BITS:
        raise StatusListError(
            "malformed", "status_list.bits", f"bits must be 1, 2, 4 or 8, not {bits!r}"
        )


def issue_status_list_token(
    status_list: StatusList,
    *,
    uri: str,
    key: PrivateKey,
    iat: int,
    exp: int | None = None,
    ttl: int | None = None,
    kid: str | None = None,
) -> str:
    """A signed status list token (JWT, ``typ: statuslist+jwt``) for ``uri``."""
    header: dict[str, Any] = {"alg": "ES256", "typ": STATUS_LIST_TYP}
    if kid is not None:
        header["kid"] = kid
    payload: dict[str, Any] = {"sub": uri, "iat": iat}
    if exp is not None:
        payload["exp"] = exp
    if ttl is not None:
        payload["ttl"] = ttl
    payload["status_list"] = status_list.to_claim()
    return jws_sign(header, payload, key)


def verify_status_list_token(
    token: str, *, key: AnyKey, expected_uri: str, now: float, leeway: float = 60
) -> StatusList:
    """Check a status list token (signature, ``typ``, ``sub``, ``exp``) and return its list."""
    try:
        jws = parse_jws(token, "status_list_token")
        jws_verify(jws, key, "status_list_token")
        if jws.header.get("typ") != STATUS_LIST_TYP:
            raise StatusListError(
                "wrong_typ", "status_list_token.header", "typ must be statuslist+jwt"
            )
        if jws.payload.get("sub") != expected_uri:
            raise StatusListError(
                "status_uri_mismatch", "status_list_token.payload", "sub is not the uri"
            )
        check_times(jws.payload, now, leeway, "status_list_token")
    except StatusListError:
        raise
    except SdJwtError as exc:
        raise StatusListError(exc.reason, exc.part, exc.detail) from None
    return StatusList.from_claim(jws.payload.get("status_list"))


def status_reference(claims: Mapping[str, Any]) -> tuple[int, str] | None:
    """``(idx, uri)`` from a credential's ``status.status_list`` claim; ``None`` when absent."""
    status = claims.get("status")
    if status is None:
        return None
    ref = status.get("status_list") if isinstance(status, Mapping) else None
    if not isinstance(ref, Mapping):
        raise StatusListError("malformed", "status", "status.status_list must be an object")
    idx, uri = ref.get("idx"), ref.get("uri")
    if isinstance(idx, bool) or not isinstance(idx, int) or idx < 0 or not isinstance(uri, str):
        raise StatusListError("malformed", "status.status_list", "idx (>= 0) and uri needed")
    return idx, uri
