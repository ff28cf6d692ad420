"""Crypto benchmark: our SM2, SM3 and SM4-GCM against ``openssl speed`` and ``gmssl``.

Every row alternates ours and the peer within each round (the order flips every
round), single-threaded on both sides, and reports medians. Both sides divide by the
same clock: CPU time by default (``openssl speed``'s own default, user CPU time), so
other processes competing for the cores do not skew one side; with ``--wall-clock``
both divide by elapsed time (``openssl speed -elapsed``).

Two in-process peers isolate the cost of our own layer from the noise between
processes: ``openssl speed``'s SM2 loop re-created over the same libcrypto, and SM4-GCM
through ``cryptography``'s Cipher API without our wrapper.
"""

from __future__ import annotations

import ctypes
import importlib.metadata
import os
import re
import shutil
import ssl
import subprocess
from collections.abc import Callable
from functools import partial

import cryptography
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

import crypto.sm3
from bench import (
    Options,
    PeerFailed,
    Report,
    Row,
    ops_per_second,
    paired_ops_per_second,
    progress,
    run_peer,
)
from crypto import _libcrypto
from crypto.sm2 import DEFAULT_SIGNER_ID, SM2PrivateKey, SM2PublicKey
from crypto.sm3 import sm3
from crypto.sm4 import SM4GCM

TITLE = "Crypto (issue: foundation and crypto/)"
# openssl speed signs and verifies a 20-byte message; so do we.
MESSAGE = os.urandom(20)
SIZES = (1024, 65536)
MB = 1_000_000  # openssl speed's "k" is 1000 bytes; MB/s here is 10^6 bytes per second
GOAL = 0.9
# Total budget per gmssl row: pure Python is 20-1,500x slower, a few ops suffice.
GMSSL_SECONDS = 2.5
GMSSL_SECONDS_QUICK = 0.6


def _kib(size: int) -> str:
    return f"{size // 1024} KiB"


# ---------------------------------------------------------------- openssl speed peer

def _openssl(seconds: int, wall_clock: bool, *args: str) -> list[str]:
    elapsed = ["-elapsed"] if wall_clock else []
    return ["openssl", "speed", *elapsed, "-mr", "-seconds", str(seconds), *args]


def parse_sm2_speed(output: str) -> tuple[float, float]:
    """(sign/s, verify/s) from ``openssl speed [-mr] sm2`` output.

    Machine-readable form: ``+F<n>:<i>:<bits>:CurveSM2:<sign/s>:<verify/s>``. The human
    form's last two columns are sign/s and verify/s, on the line naming SM2.
    """
    for line in output.splitlines():
        fields = line.strip().split(":")
        if line.startswith("+F") and any("SM2" in f.upper() for f in fields[1:-2]):
            return float(fields[-2]), float(fields[-1])
    for line in output.splitlines():
        found = re.search(r"SM2.*\s([\d.]+)\s+([\d.]+)\s*$", line)
        if found:
            return float(found.group(1)), float(found.group(2))
    raise PeerFailed("openssl speed sm2: no sign/s and verify/s figures in its output")


def parse_evp_speed(output: str, size: int) -> float:
    """Bytes per second at buffer ``size`` from ``openssl speed -mr -evp ALG`` output.

    ``+H:<size>:<size>...`` lists the buffer sizes, ``+F:<i>:<alg>:<B/s>:<B/s>...``
    the rates in the same order.
    """
    sizes: list[int] = []
    for line in output.splitlines():
        if line.startswith("+H:"):
            sizes = [int(s) for s in line.strip().split(":")[1:] if s]
        elif line.startswith("+F:") and sizes:
            rates = line.strip().split(":")[3:]
            if len(rates) == len(sizes) and size in sizes:
                return float(rates[sizes.index(size)])
    raise PeerFailed(f"openssl speed: no figure for {size}-byte buffers in its output")


def _openssl_version() -> str:
    try:
        done = subprocess.run(["openssl", "version"], capture_output=True, text=True,
                              timeout=30, check=True)
    except (OSError, subprocess.SubprocessError) as exc:
        raise PeerFailed(f"openssl version: {exc}") from None
    return done.stdout.strip()


# ---------------------------------------------------------------- gmssl peer

class _Gmssl:
    """The pure-Python ``gmssl`` operations over the same key and buffers as ours."""

    def __init__(self, key: SM2PrivateKey) -> None:
        from gmssl import func, sm2, sm4
        from gmssl import sm3 as gm_sm3

        point = key.public_key().point()[1:].hex()
        # gmssl strips every leading "0"/"4" of a key starting with "04" (lstrip), which
        # would corrupt such a point; the caller retries with another key then.
        if point.startswith("04"):
            raise ValueError("point unusable by gmssl")
        self.sm2 = sm2.CryptSM2(private_key=key.scalar().hex(), public_key=point)
        self.signature = self.sm2.sign_with_sm3(MESSAGE)
        if not self.sm2.verify_with_sm3(self.signature, MESSAGE):
            raise PeerFailed("gmssl does not verify its own SM2 signature")
        self._hash = gm_sm3.sm3_hash
        self._to_list = func.bytes_to_list
        self._sm4 = sm4.CryptSM4()
        self._sm4.set_key(bytes(16), sm4.SM4_ENCRYPT)

    def sign(self) -> object:
        return self.sm2.sign_with_sm3(MESSAGE)

    def verify(self) -> object:
        return self.sm2.verify_with_sm3(self.signature, MESSAGE)

    def sm3(self, buf: bytes) -> object:
        return self._hash(self._to_list(buf))

    def sm4_cbc(self, buf: bytes) -> object:
        return self._sm4.crypt_cbc(bytes(16), buf)


def _gmssl_version() -> str | None:
    try:
        return importlib.metadata.version("gmssl")
    except importlib.metadata.PackageNotFoundError:
        return None


# ---------------------------------------------------------------- the run

class _SpeedLoopSM2:
    """``openssl speed``'s SM2 loops, run in this process on the same libcrypto.

    Like ``apps/speed.c``: one digest context per direction with the signer ID set
    once, re-initialised before every call, signing into a preallocated buffer. Set
    against our ``sign``/``verify`` in the same process, the ratio is the cost of our
    binding alone (a new context per call, argument checks, strict DER parsing).
    """

    def __init__(self, key: SM2PrivateKey, public: SM2PublicKey, signature: bytes) -> None:
        lib = _libcrypto.lib
        self._lib, self._md = lib, _libcrypto.sm3_md()
        self._key, self._public, self._signature = key, public, signature
        self._ctxs: list[tuple[int, int]] = []
        self._sign_ctx = self._context(key)
        self._verify_ctx = self._context(public)
        self._out = ctypes.create_string_buffer(72)  # largest DER SM2 signature
        self._out_len = ctypes.c_size_t(72)

    def _context(self, holder: SM2PrivateKey | SM2PublicKey) -> int:
        lib = self._lib
        pctx = lib.EVP_PKEY_CTX_new(holder._pkey, None)
        mctx = lib.EVP_MD_CTX_new()
        self._ctxs.append((mctx, pctx))
        if not pctx or not mctx or lib.EVP_PKEY_CTX_set1_id(
                pctx, DEFAULT_SIGNER_ID, len(DEFAULT_SIGNER_ID)) != 1:
            raise PeerFailed("libcrypto: cannot set up the SM2 speed loop")
        lib.EVP_MD_CTX_set_pkey_ctx(mctx, pctx)
        return int(mctx)

    def sign(self) -> None:
        lib, ctx = self._lib, self._sign_ctx
        self._out_len.value = 72
        lib.EVP_DigestSignInit(ctx, None, self._md, None, self._key._pkey)
        if lib.EVP_DigestSign(ctx, self._out, ctypes.byref(self._out_len), MESSAGE,
                              len(MESSAGE)) != 1:
            raise PeerFailed("libcrypto: SM2 sign failed in the speed loop")

    def verify(self) -> None:
        lib, ctx, sig = self._lib, self._verify_ctx, self._signature
        lib.EVP_DigestVerifyInit(ctx, None, self._md, None, self._public._pkey)
        if lib.EVP_DigestVerify(ctx, sig, len(sig), MESSAGE, len(MESSAGE)) != 1:
            raise PeerFailed("libcrypto: SM2 verify failed in the speed loop")

    def close(self) -> None:
        for mctx, pctx in self._ctxs:
            self._lib.EVP_MD_CTX_free(mctx)
            self._lib.EVP_PKEY_CTX_free(pctx)
        self._ctxs.clear()


def _sm4_gcm_raw(key: bytes, nonce: bytes, buf: bytes) -> bytes:
    """SM4-GCM through cryptography's Cipher API directly: ours minus our wrapper."""
    enc = Cipher(algorithms.SM4(key), modes.GCM(nonce)).encryptor()
    return enc.update(buf) + enc.finalize() + enc.tag


def _key_and_gmssl() -> tuple[SM2PrivateKey, _Gmssl | None]:
    if _gmssl_version() is None:
        return SM2PrivateKey.generate(), None
    while True:
        key = SM2PrivateKey.generate()
        try:
            return key, _Gmssl(key)
        except ValueError:
            continue


def _alternate(ours_first: bool, ours: Callable[[], None], *peers: Callable[[], None]) -> None:
    """Run ours then the peers, or the peers then ours, as this round's order says."""
    for step in [ours, *peers] if ours_first else [*peers, ours]:
        step()


class _CryptoBench:
    """The inputs, the rows being filled, and one round of measurements."""

    def __init__(self, options: Options) -> None:
        self.seconds = options.seconds
        self.wall_clock = options.wall_clock
        gm_total = GMSSL_SECONDS_QUICK if options.quick else GMSSL_SECONDS
        self.gm_total = gm_total
        self.gm_seconds = gm_total / options.rounds
        self.key, self.gm = _key_and_gmssl()
        self.public = self.key.public_key()
        self.signature = self.key.sign(MESSAGE)
        self.public.verify(self.signature, MESSAGE)
        self.gcm_key = SM4GCM.generate_key()
        self.gcm = SM4GCM(self.gcm_key)
        # A fixed nonce is harmless here: nothing encrypted is kept, only timed.
        self.nonce = bytes(12)
        self.buffers = {size: os.urandom(size) for size in SIZES}

        gm_name = f"gmssl {_gmssl_version()} (pure Python)"
        sm2 = "SM2 {}/s (20-byte message)"
        self.sign = Row(sm2.format("sign"), "openssl speed sm2", goal=GOAL)
        self.verify = Row(sm2.format("verify"), "openssl speed sm2", goal=GOAL)
        self.sm3 = {n: Row(f"SM3 MB/s, {_kib(n)} buffers", "openssl speed -evp sm3",
                           goal=GOAL if n == max(SIZES) else None) for n in SIZES}
        self.ctr = {n: Row(f"SM4-GCM encrypt MB/s, {_kib(n)} buffers", "openssl speed -evp sm4-ctr",
                           goal=GOAL if n == max(SIZES) else None) for n in SIZES}
        self.loop = _SpeedLoopSM2(self.key, self.public, self.signature)
        loop_name = "openssl speed's loop, in-process"
        self.loop_sign = Row(self.sign.measure, loop_name)
        self.loop_verify = Row(self.verify.measure, loop_name)
        # The rows below share ours' figures with the rows above (same op, same round).
        self.raw = {n: Row(self.ctr[n].measure, "cryptography Cipher SM4-GCM, unwrapped",
                           ours=self.ctr[n].ours) for n in SIZES}
        self.gm_rows = [
            Row(self.sign.measure, gm_name, ours=self.sign.ours),
            Row(self.verify.measure, gm_name, ours=self.verify.ours),
            *(Row(self.sm3[n].measure, gm_name, ours=self.sm3[n].ours) for n in SIZES),
            *(Row(self.ctr[n].measure, f"{gm_name}, SM4-CBC", ours=self.ctr[n].ours)
              for n in SIZES),
        ]

    def sm2_command(self) -> list[str]:
        return _openssl(self.seconds, self.wall_clock, "sm2")

    def evp_command(self, alg: str, size: int | str) -> list[str]:
        return _openssl(self.seconds, self.wall_clock, "-bytes", str(size), "-evp", alg)

    def _ours(self, op: Callable[[], object], scale: float = 1.0) -> float:
        return ops_per_second(op, self.seconds, cpu_time=not self.wall_clock) * scale

    def _peer_evp(self, alg: str, size: int) -> float:
        output = run_peer(self.evp_command(alg, size), timeout=2 * self.seconds + 60)
        return parse_evp_speed(output, size) / MB

    def round(self, rnd: int) -> None:
        ours_first = rnd % 2 == 0
        key, public, signature = self.key, self.public, self.signature
        # openssl speed times sign then verify in one process; putting it between our
        # sign and our verify keeps each pair adjacent in time (ours first for sign,
        # the peer first for verify), which matters on a machine whose load drifts.
        self.sign.ours.append(self._ours(lambda: key.sign(MESSAGE)))
        output = run_peer(self.sm2_command(), timeout=4 * self.seconds + 60)
        peer_sign, peer_verify = parse_sm2_speed(output)
        self.sign.theirs.append(peer_sign)
        self.verify.theirs.append(peer_verify)
        self.verify.ours.append(self._ours(lambda: public.verify(signature, MESSAGE)))
        for row, ours, loop in ((self.loop_sign, lambda: key.sign(MESSAGE), self.loop.sign),
                                (self.loop_verify, lambda: public.verify(signature, MESSAGE),
                                 self.loop.verify)):
            ours_rate, loop_rate = paired_ops_per_second(ours, loop, self.seconds,
                                                         cpu_time=not self.wall_clock)
            row.ours.append(ours_rate)
            row.theirs.append(loop_rate)
        for size in SIZES:
            self._buffer_round(size, ours_first)
        if self.gm is not None:
            self._gmssl_round(self.gm)

    def _buffer_round(self, size: int, ours_first: bool) -> None:
        buf, mb = self.buffers[size], size / MB
        gcm, gcm_key, nonce = self.gcm, self.gcm_key, self.nonce
        sm3_row, ctr_row, raw_row = self.sm3[size], self.ctr[size], self.raw[size]
        _alternate(ours_first,
                   lambda: sm3_row.ours.append(self._ours(lambda: sm3(buf), mb)),
                   lambda: sm3_row.theirs.append(self._peer_evp("sm3", size)))
        _alternate(ours_first,
                   lambda: ctr_row.ours.append(
                       self._ours(lambda: gcm.encrypt(nonce, buf, None), mb)),
                   lambda: ctr_row.theirs.append(self._peer_evp("sm4-ctr", size)),
                   lambda: raw_row.theirs.append(
                       self._ours(lambda: _sm4_gcm_raw(gcm_key, nonce, buf), mb)))

    def _gmssl_round(self, gm: _Gmssl) -> None:
        ops: list[tuple[Callable[[], object], float]] = [(gm.sign, 1.0), (gm.verify, 1.0)]
        ops += [(partial(gm.sm3, self.buffers[n]), n / MB) for n in SIZES]
        ops += [(partial(gm.sm4_cbc, self.buffers[n]), n / MB) for n in SIZES]
        for row, (op, scale) in zip(self.gm_rows, ops, strict=True):
            # No warm-up call: one 64 KiB call alone takes about half a second.
            rate = ops_per_second(op, self.gm_seconds, warm_up=False,
                                  cpu_time=not self.wall_clock)
            row.theirs.append(rate * scale)

    def openssl_rows(self) -> list[Row]:
        return [self.sign, self.verify, *self.sm3.values(), *self.ctr.values()]


def run(options: Options) -> Report:
    if shutil.which("openssl") is None:
        raise PeerFailed("openssl: command not found")
    openssl_version = _openssl_version()
    bench = _CryptoBench(options)
    try:
        for rnd in range(options.rounds):
            progress(f"bench crypto: round {rnd + 1}/{options.rounds}")
            bench.round(rnd)
            for row in bench.openssl_rows():
                progress(f"  {row.measure:<32} ours {row.ours[rnd]:>9,.1f}  "
                         f"{row.peer:<26} {row.theirs[rnd]:>9,.1f}  "
                         f"{row.ours[rnd] / row.theirs[rnd]:.2f}x")
    finally:
        bench.loop.close()

    rows = [*bench.openssl_rows(), bench.loop_sign, bench.loop_verify, *bench.raw.values()]
    notes = [
        f"medians of {options.rounds} rounds of {options.seconds} s per figure; ours and "
        "the peer alternate within each round (SM2: our sign, openssl speed sm2, our "
        "verify; the other rows flip the order every round); both are "
        "single-threaded and divide by "
        + ("wall-clock time" if options.wall_clock else
           "CPU time (openssl speed: user CPU time, its default; ours: process CPU time)"),
        "spread: half the min-max range of the rounds, relative to the median",
        "in-process rows: our sign/verify against openssl speed's own loop (one context, "
        "re-initialised per call) run through the same libcrypto in the same process, "
        f"alternating in {options.seconds / 20:g} s slices: the cost of our binding alone, "
        "free of the noise between processes",
        "SM4-GCM peer: the system OpenSSL 3.0 has no SM4-GCM, so `openssl speed` runs "
        "SM4-CTR (GCM is CTR plus GHASH, so this peer does strictly less work); the "
        "second peer is SM4-GCM through cryptography's Cipher API, i.e. the same engine "
        "as ours without our wrapper",
    ]
    if bench.gm is not None:
        rows += bench.gm_rows
        notes.append(f"gmssl: {bench.gm_total:g} s per row in total; it has no SM4-GCM, "
                     "so its SM4 rows time SM4-CBC")
    else:
        notes.append("gmssl is not installed: its rows are left out")
    from cryptography.hazmat.backends.openssl import backend

    bundled = f"cryptography {cryptography.__version__} ({backend.openssl_version_text()})"
    # crypto.sm3 picks hashlib when the interpreter's OpenSSL has SM3; say which ran.
    sm3_engine = (f"hashlib ({ssl.OPENSSL_VERSION})"
                  if getattr(crypto.sm3, "_HASHLIB_SM3", False) else bundled)
    details = [
        ("peer", openssl_version),
        ("our SM2", f"ctypes binding to {_libcrypto.version()}, DER signatures, default "
                    "signer ID"),
        ("our SM3", sm3_engine),
        ("our SM4-GCM", bundled),
    ]
    commands = [" ".join(bench.sm2_command()),
                " ".join(bench.evp_command("sm3", "N")),
                " ".join(bench.evp_command("sm4-ctr", "N")),
                f"(N = {', '.join(str(n) for n in SIZES)})"]
    return Report(TITLE, details, commands, rows, notes)
