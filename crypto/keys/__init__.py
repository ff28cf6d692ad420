"""Key providers: where private keys live, behind one interface (sign, decrypt, unwrap)."""

from crypto.keys.provider import KeyHandle, KeyInfo, KeyProvider, SM2Signer

__all__ = ["KeyHandle", "KeyInfo", "KeyProvider", "SM2Signer"]
