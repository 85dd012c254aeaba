"""Digital ID benchmark: SD-JWT VC issue, present and verify per second, Pingan vs ``sd-jwt``.

Run with ``python -m bench.identity.run [--seconds S]``. Both implementations get the same
claims (the resident credential: 9 selectively disclosable claims + iss/iat/exp/vct/status,
holder-bound with ``cnf.jwk``), the same ES256 keys and the same presentation request
(the hotel scenario: name + ID number, with a Key Binding JWT). Both sides verify the same
presentation strings: a rotation of 64 distinct credentials (cold), and one credential seen
again (where Pingan's opt-in issuer-signature cache applies). Prints operations per second
side by side, with ratios. See ``bench/identity/README.md``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable
from datetime import UTC, date, datetime
from importlib.metadata import version
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a script
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from jwcrypto.jwk import JWK
from sd_jwt.common import SDObj
from sd_jwt.holder import SDJWTHolder
from sd_jwt.issuer import SDJWTIssuer
from sd_jwt.verifier import SDJWTVerifier

from pingan.identity import sdjwt
from pingan.identity.scenarios import CREDENTIAL_CLAIMS, Resident, credential_claims

NOW = datetime(2026, 11, 29, 9, 0, tzinfo=UTC)
RESIDENT = Resident(
    "王小明", "11010519491231002X", date(1990, 5, 17), "朝阳区", "sha256-" + "ab" * 32
)
FRAME = {"name": True, "id_number": True}
AUD = "https://hotel.example/front-desk"
NONCE = "nonce-0123456789abcdef"


def machine() -> dict[str, str]:
    """CPU, cores and library versions."""
    cpu = platform.processor() or "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "CPU": cpu,
        "cores": str(os.cpu_count()),
        "Python": platform.python_version(),
        "cryptography": version("cryptography"),
        "sd-jwt (reference)": version("sd-jwt"),
        "jwcrypto": version("jwcrypto"),
    }


def _calibrate(fn: Callable[[], Any], batch_seconds: float) -> int:
    """How many calls of ``fn`` take about ``batch_seconds``."""
    fn()
    n = 1
    while True:
        start = time.perf_counter()
        for _ in range(n):
            fn()
        took = time.perf_counter() - start
        if took >= batch_seconds / 4:
            return max(1, int(n * batch_seconds / took))
        n *= 2


def rates(
    ours: Callable[[], Any], ref: Callable[[], Any], seconds: float, batches: int = 7
) -> tuple[float, float]:
    """Operations per second of both, median over interleaved batches.

    The batches alternate (ours, reference, ours, ...) so that a change in machine load during
    the run (the machine is shared) hits both sides alike.
    """
    per_batch = seconds / batches
    sizes = (_calibrate(ours, per_batch), _calibrate(ref, per_batch))
    samples: tuple[list[float], list[float]] = ([], [])
    for _ in range(batches):
        for side, fn in enumerate((ours, ref)):
            start = time.perf_counter()
            for _ in range(sizes[side]):
                fn()
            samples[side].append(sizes[side] / (time.perf_counter() - start))
    return statistics.median(samples[0]), statistics.median(samples[1])


def main() -> None:
    """Run both implementations and print the table."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument(
        "--seconds", type=float, default=4.0, help="time per operation and implementation"
    )
    args = parser.parse_args()

    issuer_key = sdjwt.generate_key()
    holder_key = sdjwt.generate_key()
    issuer_jwk = JWK.from_json(json.dumps(sdjwt.private_jwk(issuer_key)))
    issuer_pub_jwk = JWK.from_json(json.dumps(sdjwt.public_jwk(issuer_key)))
    holder_jwk = JWK.from_json(json.dumps(sdjwt.private_jwk(holder_key)))
    holder_public = sdjwt.public_jwk(holder_key)
    issuer_public = issuer_key.public_key()

    claims = credential_claims(RESIDENT, NOW.date())
    plain = {
        "iss": "https://bureau.pingan.example",
        "iat": int(NOW.timestamp()),
        "exp": int(NOW.timestamp()) + 86400 * 365,
        "vct": "urn:pingan:credential:resident-id:1",
        "status": {"status_list": {"idx": 42, "uri": "https://bureau.pingan.example/status/1"}},
    }
    ours_claims: dict[Any, Any] = dict(plain)
    ours_claims.update({sdjwt.SD(n): claims[n] for n in CREDENTIAL_CLAIMS})
    ref_claims: dict[Any, Any] = dict(plain)
    ref_claims.update({SDObj(n): claims[n] for n in CREDENTIAL_CLAIMS})

    def ours_issue() -> str:
        return sdjwt.issue(ours_claims, issuer_key=issuer_key, holder_jwk=holder_public).serialized

    def ref_issue() -> str:
        return str(
            SDJWTIssuer(
                ref_claims, issuer_jwk, holder_jwk, extra_header_parameters={"typ": "dc+sd-jwt"}
            ).sd_jwt_issuance
        )

    issuance = ours_issue()
    now = time.time()

    def ours_present() -> str:
        return sdjwt.present(issuance, FRAME, holder_key=holder_key, nonce=NONCE, aud=AUD)

    def ref_present() -> str:
        holder = SDJWTHolder(issuance)
        holder.create_presentation(FRAME, NONCE, AUD, holder_jwk)
        return str(holder.sd_jwt_presentation)

    presentation = ours_present()
    # A pool of distinct credentials (different salts, different signatures) for the cold case.
    pool = [
        sdjwt.present(
            sdjwt.issue(ours_claims, issuer_key=issuer_key, holder_jwk=holder_public).serialized,
            FRAME,
            holder_key=holder_key,
            nonce=NONCE,
            aud=AUD,
        )
        for _ in range(64)
    ]
    cursor = {"ours": 0, "ref": 0}

    def _next(side: str) -> str:
        cursor[side] = (cursor[side] + 1) % len(pool)
        return pool[cursor[side]]

    def ours_verify() -> dict[str, Any]:
        return sdjwt.verify(
            _next("ours"),
            issuer_keys=issuer_public,
            expected_aud=AUD,
            expected_nonce=NONCE,
            now=now,
        ).claims

    def ref_verify() -> dict[str, Any]:
        verifier = SDJWTVerifier(_next("ref"), lambda iss, header: issuer_pub_jwk, AUD, NONCE)
        return dict(verifier.get_verified_payload())

    cache = sdjwt.SignatureCache()

    def ours_verify_seen() -> dict[str, Any]:
        return sdjwt.verify(
            presentation,
            issuer_keys=issuer_public,
            expected_aud=AUD,
            expected_nonce=NONCE,
            now=now,
            signature_cache=cache,
        ).claims

    def ref_verify_seen() -> dict[str, Any]:
        verifier = SDJWTVerifier(presentation, lambda iss, header: issuer_pub_jwk, AUD, NONCE)
        return dict(verifier.get_verified_payload())

    # Same answer from both before timing anything.
    a, b = ours_verify(), ref_verify()
    assert a == b, (a, b)
    assert ours_verify_seen() == ref_verify_seen() == a
    assert a["name"] == RESIDENT.name and "birth_date" not in a
    sdjwt.verify(ref_present(), issuer_keys=issuer_public, expected_aud=AUD, expected_nonce=NONCE)
    SDJWTVerifier(ref_issue(), lambda iss, header: issuer_pub_jwk).get_verified_payload()

    print("Digital ID benchmark: SD-JWT VC (ES256), Pingan vs the sd-jwt reference library")
    for key, value in machine().items():
        print(f"  {key}: {value}")
    print(
        f"  claims: {len(CREDENTIAL_CLAIMS)} disclosable + {len(plain)} in clear, holder-bound;"
        f" presentation: {sorted(FRAME)} + KB-JWT; {args.seconds:.1f} s per measurement"
        " each side (median of 7 interleaved batches)"
    )
    print()
    header = f"{'operation':<22} {'Pingan ops/s':>14} {'sd-jwt ops/s':>14} {'ratio':>8}"
    print(header)
    print("-" * len(header))
    for name, ours, ref in (
        ("issue", ours_issue, ref_issue),
        ("present", ours_present, ref_present),
        ("verify", ours_verify, ref_verify),
        ("verify (seen before)", ours_verify_seen, ref_verify_seen),
    ):
        r_ours, r_ref = rates(ours, ref, args.seconds)
        print(f"{name:<22} {r_ours:>14,.0f} {r_ref:>14,.0f} {r_ours / r_ref:>7.2f}×")
    print()
    print(
        "Pingan's verify also checks exp/nbf/iat, typ, KB-JWT iat freshness and every RFC 9901"
        " disclosure rule; the reference (0.10) checks signatures, nonce, aud and sd_hash."
    )
    print(
        "verify: a different credential each time (64 in rotation), both sides check two ES256"
        " signatures (issuer, holder).\nverify (seen before): the same credential again; Pingan's"
        " SignatureCache skips the issuer signature it already checked (exp, disclosures, key"
        " binding and its signature are checked every time); the reference has no such cache."
    )
    print("Target: verification ≥ 2× the reference's rate.")


if __name__ == "__main__":
    main()
