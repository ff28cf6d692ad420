"""ctypes binding to the system OpenSSL 3.x libcrypto, limited to what SM2 needs.

Only the EVP API is used, so the SM2 maths, constant-time scalar multiplication and the
C3 check on decryption are OpenSSL's. Every pointer returned here is owned by the caller
of these helpers and freed explicitly; errors are turned into ``CryptoError`` subclasses
with OpenSSL's reason text and the library's error queue is always left empty.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
from collections.abc import Callable
from typing import Any

from crypto.errors import CryptoError

_c = ctypes
_P = _c.c_void_p
_INSTALL_HINT = (
    "EduTrust needs the system OpenSSL 3.x libcrypto with SM2 support "
    "(Debian/Ubuntu: apt-get install libssl3; RHEL: dnf install openssl-libs). "
    "Set EDUTRUST_LIBCRYPTO to the library's path if it is installed elsewhere."
)


def _load() -> ctypes.CDLL:
    path = os.environ.get("EDUTRUST_LIBCRYPTO") or ctypes.util.find_library("crypto")
    if not path:
        raise ImportError("libcrypto not found. " + _INSTALL_HINT)
    try:
        lib = ctypes.CDLL(path)
    except OSError as exc:
        raise ImportError(f"cannot load {path}: {exc}. " + _INSTALL_HINT) from exc
    if not hasattr(lib, "OpenSSL_version_num"):
        raise ImportError(f"{path} is not OpenSSL 1.1 or later. " + _INSTALL_HINT)
    lib.OpenSSL_version_num.restype = _c.c_ulong
    if lib.OpenSSL_version_num() < 0x30000000:
        raise ImportError(f"{path} is older than OpenSSL 3.0. " + _INSTALL_HINT)
    return lib


lib = _load()


def _fn(name: str, restype: Any, *argtypes: Any) -> None:
    func = getattr(lib, name)
    func.restype = restype
    func.argtypes = list(argtypes)


_size_p = _c.POINTER(_c.c_size_t)
_int = _c.c_int
_pp = _c.POINTER(_P)

_fn("OpenSSL_version", _c.c_char_p, _int)
_fn("ERR_get_error", _c.c_ulong)
_fn("ERR_error_string_n", None, _c.c_ulong, _c.c_char_p, _c.c_size_t)
_fn("ERR_clear_error", None)
_fn("ERR_reason_error_string", _c.c_char_p, _c.c_ulong)

_fn("BIO_new_mem_buf", _P, _c.c_char_p, _int)
_fn("BIO_new", _P, _P)
_fn("BIO_s_mem", _P)
_fn("BIO_free", _int, _P)
_fn("BIO_ctrl", _c.c_long, _P, _int, _c.c_long, _P)

_fn("EVP_PKEY_free", None, _P)
_fn("EVP_PKEY_up_ref", _int, _P)
_fn("EVP_PKEY_is_a", _int, _P, _c.c_char_p)
_fn("EVP_PKEY_get_bits", _int, _P)
_fn("EVP_PKEY_CTX_new", _P, _P, _P)
_fn("EVP_PKEY_CTX_new_from_name", _P, _P, _c.c_char_p, _c.c_char_p)
_fn("EVP_PKEY_CTX_new_from_pkey", _P, _P, _P, _c.c_char_p)
_fn("EVP_PKEY_CTX_free", None, _P)
_fn("EVP_PKEY_CTX_set1_id", _int, _P, _c.c_char_p, _int)
_fn("EVP_PKEY_keygen_init", _int, _P)
_fn("EVP_PKEY_generate", _int, _P, _pp)
_fn("EVP_PKEY_public_check", _int, _P)
_fn("EVP_PKEY_check", _int, _P)
_fn("EVP_PKEY_encrypt_init", _int, _P)
_fn("EVP_PKEY_encrypt", _int, _P, _c.c_char_p, _size_p, _c.c_char_p, _c.c_size_t)
_fn("EVP_PKEY_decrypt_init", _int, _P)
_fn("EVP_PKEY_decrypt", _int, _P, _c.c_char_p, _size_p, _c.c_char_p, _c.c_size_t)

_fn("EVP_MD_CTX_new", _P)
_fn("EVP_MD_CTX_free", None, _P)
_fn("EVP_MD_CTX_set_pkey_ctx", None, _P, _P)
_fn("EVP_sm3", _P)
_fn("EVP_DigestSignInit", _int, _P, _pp, _P, _P, _P)
_fn("EVP_DigestSign", _int, _P, _c.c_char_p, _size_p, _c.c_char_p, _c.c_size_t)
_fn("EVP_DigestVerifyInit", _int, _P, _pp, _P, _P, _P)
_fn("EVP_DigestVerify", _int, _P, _c.c_char_p, _c.c_size_t, _c.c_char_p, _c.c_size_t)

_fn("d2i_PUBKEY", _P, _pp, _c.POINTER(_c.c_char_p), _c.c_long)
_fn("d2i_AutoPrivateKey", _P, _pp, _c.POINTER(_c.c_char_p), _c.c_long)
_fn("i2d_PUBKEY", _int, _P, _c.POINTER(_c.c_char_p))
_fn("i2d_PKCS8PrivateKey_bio", _int, _P, _P, _P, _c.c_char_p, _int, _P, _P)

_BIO_CTRL_INFO = 3

_SM3 = lib.EVP_sm3()


def version() -> str:
    """The OpenSSL version string of the loaded libcrypto."""
    raw = lib.OpenSSL_version(0)
    return raw.decode() if raw else "unknown"


def drain_errors() -> str:
    """Empty OpenSSL's error queue and return its reasons joined, oldest first."""
    reasons: list[str] = []
    while True:
        code = lib.ERR_get_error()
        if code == 0:
            break
        text = lib.ERR_reason_error_string(code)
        reasons.append(text.decode() if text else f"error {code:#x}")
    return "; ".join(reasons)


def check(ok: int | None, error: type[CryptoError], message: str) -> None:
    """Raise ``error`` (with OpenSSL's reasons) unless ``ok`` is a positive return."""
    if not ok or ok <= 0:
        reason = drain_errors()
        raise error(f"{message}: {reason}" if reason else message)


def not_null(ptr: int | None, error: type[CryptoError], message: str) -> int:
    if not ptr:
        reason = drain_errors()
        raise error(f"{message}: {reason}" if reason else message)
    return ptr


class Owned:
    """Frees an OpenSSL pointer with its free function when the object is collected."""

    __slots__ = ("_free", "ptr")

    def __init__(self, ptr: int, free: Callable[[int], None]) -> None:
        self.ptr = ptr
        self._free = free

    def __del__(self) -> None:
        if self.ptr:
            self._free(self.ptr)
            self.ptr = 0


def pkey_owned(ptr: int) -> Owned:
    return Owned(ptr, lib.EVP_PKEY_free)


def sm3_md() -> int:
    return int(_SM3)


def bio_read_all(bio: int) -> bytes:
    data = _c.c_char_p()
    length = lib.BIO_ctrl(bio, _BIO_CTRL_INFO, 0, _c.cast(_c.byref(data), _P))
    if length <= 0 or not data:
        return b""
    return _c.string_at(data, length)


def probe_sm2() -> None:
    """Fail at import, with what to install, when libcrypto has no SM2."""
    ctx = lib.EVP_PKEY_CTX_new_from_name(None, b"SM2", None)
    if not ctx:
        drain_errors()
        raise ImportError(f"{version()} has no SM2 support. " + _INSTALL_HINT)
    lib.EVP_PKEY_CTX_free(ctx)


probe_sm2()
