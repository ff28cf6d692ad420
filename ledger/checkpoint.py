"""Checkpoints of the verifiable log: C2SP tlog-checkpoint bodies inside C2SP signed notes,
signed with SM2 by the log and cosigned by witnesses (other organisations).

Formats (https://c2sp.org/tlog-checkpoint, https://c2sp.org/signed-note,
https://c2sp.org/tlog-cosignature) with the SM2 choices this project makes, all of which
docs/ledger.md states for independent verifiers:

- signed-note assigns no signature type to SM2, so we use type byte 0xFF ("no identifier
  assigned by this specification") followed by a newline-terminated label:
  ``0xFF "edutrust-sm2-note/v1" 0x0A`` for the log's signature over the note text and
  ``0xFF "edutrust-sm2-cosignature/v1" 0x0A`` for witness cosignatures;
- key material is the 65-byte uncompressed SM2 point ``04 || x || y`` (no SPKI: SM2 SPKIs
  are written with two different algorithm OIDs in the wild, the point is unambiguous);
- key ID = SHA-256(key name || 0x0A || type bytes || point)[:4], the hash signed-note
  recommends. It is an identifier, not a security control (signed-note says so: a collision
  only makes verification fail), so SHA-256 here does not weaken the SM2/SM3 protection;
- signatures are SM2 with SM3 and signer ID ``1234567812345678`` (GM/T 0009 default), DER
  ``SEQUENCE{r, s}`` as everywhere on the ledger;
- a cosignature follows tlog-cosignature's timestamped form: 8-byte big-endian POSIX time
  || DER signature over ``"cosignature/v1\\ntime <t>\\n" || note text``.
"""

from __future__ import annotations

import base64
import binascii
import enum
import functools
import hashlib
import re
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from crypto.errors import CryptoError
from crypto.keys.provider import SM2Signer
from crypto.sm2 import DEFAULT_SIGNER_ID, SignatureEncoding, SM2PublicKey
from ledger.errors import (
    CosignaturePolicyNotMet,
    ForkDetected,
    InvalidNoteSignature,
    InvalidProof,
    LedgerError,
    MalformedNote,
    RollbackDetected,
    UnknownLog,
)
from ledger.merkle import verify_consistency

EM_DASH = "\u2014"
SIGNER_ID = DEFAULT_SIGNER_ID
ROOT_HASH_SIZE = 32  # SM3
MAX_TREE_SIZE = (1 << 64) - 1
MAX_SIGNATURES = 64     # signed-note: verifiers MUST accept at least 16
MAX_NOTE_BYTES = 1 << 20
COSIGNATURE_HEADER = b"cosignature/v1\n"

_DECIMAL = re.compile(r"(?:0|[1-9][0-9]*)", re.ASCII)


class SignatureKind(enum.Enum):
    """The two SM2 signature types of our notes, as their signed-note type bytes."""

    NOTE = b"\xffedutrust-sm2-note/v1\n"
    COSIGNATURE = b"\xffedutrust-sm2-cosignature/v1\n"


# --- small strict codecs ----------------------------------------------------------------------

def _b64encode(raw: bytes) -> str:
    return base64.b64encode(raw).decode("ascii")


def _b64decode(text: str, what: str) -> bytes:
    """Standard base64 with padding, canonical only (one encoding per value)."""
    try:
        raw = base64.b64decode(text.encode("ascii"), validate=True)
    except (UnicodeEncodeError, binascii.Error):
        raise MalformedNote(f"{what} is not standard base64") from None
    if _b64encode(raw) != text:
        raise MalformedNote(f"{what} is not canonical base64")
    return raw


# C0 controls but newline; what a key name may not hold ('+', a control character, or
# whitespace: re's \s is str.isspace()).
_CONTROL = re.compile(r"[\x00-\x09\x0b-\x1f]")
_NOT_IN_KEY_NAME = re.compile(r"[+\s\x00-\x1f]")


def _has_control(text: str) -> bool:
    return _CONTROL.search(text) is not None


def _check_key_name(name: str) -> None:
    if not isinstance(name, str) or not name:
        raise MalformedNote("a key name is a non-empty string")
    if _NOT_IN_KEY_NAME.search(name):
        raise MalformedNote(f"key name {name!r} contains a space, control or '+' character")


def _decode_note(data: bytes, what: str) -> str:
    if not isinstance(data, bytes):
        raise MalformedNote(f"{what} must be bytes")
    if len(data) > MAX_NOTE_BYTES:
        raise MalformedNote(f"{what} is larger than {MAX_NOTE_BYTES} bytes")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise MalformedNote(f"{what} is not UTF-8") from None
    if _has_control(text):
        raise MalformedNote(f"{what} contains control characters other than newline")
    if not text.endswith("\n"):
        raise MalformedNote(f"{what} does not end with a newline")
    return text


# --- checkpoint body (tlog-checkpoint) --------------------------------------------------------

@dataclass(frozen=True)
class Checkpoint:
    """A tree head: origin line, tree size, root hash, optional extension lines."""

    origin: str
    size: int
    root_hash: bytes
    extensions: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        for line in (self.origin, *self.extensions):
            if not isinstance(line, str) or not line or "\n" in line or _has_control(line):
                raise MalformedNote("origin and extension lines are non-empty single lines")
        if type(self.size) is not int or not 0 <= self.size <= MAX_TREE_SIZE:
            raise MalformedNote("tree size must be an integer in 0..2**64-1")
        if not isinstance(self.root_hash, bytes) or len(self.root_hash) != ROOT_HASH_SIZE:
            raise MalformedNote(f"root hash must be {ROOT_HASH_SIZE} bytes")

    def text(self) -> bytes:
        """The note text: every line newline-terminated, UTF-8."""
        lines = [self.origin, str(self.size), _b64encode(self.root_hash), *self.extensions]
        return "".join(line + "\n" for line in lines).encode("utf-8")

    @classmethod
    def from_text(cls, data: bytes) -> Checkpoint:
        """Parse a note text strictly (no leading zeros, canonical base64, no empty lines)."""
        text = _decode_note(data, "checkpoint")
        lines = text[:-1].split("\n")
        if len(lines) < 3 or not all(lines):
            raise MalformedNote("a checkpoint is at least three non-empty lines")
        if not _DECIMAL.fullmatch(lines[1]):
            raise MalformedNote("tree size is not a decimal number without leading zeros")
        root_hash = _b64decode(lines[2], "root hash")
        return cls(lines[0], int(lines[1]), root_hash, tuple(lines[3:]))


# --- signed notes (signed-note) ---------------------------------------------------------------

@dataclass(frozen=True)
class NoteSignature:
    """One signature line: ``— <name> base64(key ID || signature)``."""

    name: str
    key_id: bytes
    signature: bytes

    def __post_init__(self) -> None:
        _check_key_name(self.name)
        if len(self.key_id) != 4 or not self.signature:
            raise MalformedNote("a note signature is a 4-byte key ID and a non-empty signature")

    def line(self) -> str:
        return f"{EM_DASH} {self.name} {_b64encode(self.key_id + self.signature)}\n"


@dataclass(frozen=True)
class SignedNote:
    """A note text (ending in a newline) and its signature lines."""

    text: bytes
    signatures: tuple[NoteSignature, ...]

    def encode(self) -> bytes:
        if not self.signatures:
            raise LedgerError("a signed note needs at least one signature")
        return self.text + b"\n" + "".join(s.line() for s in self.signatures).encode("utf-8")

    def with_signatures(self, *signatures: NoteSignature) -> SignedNote:
        """This note with more signature lines (an identical line is not repeated)."""
        merged = list(self.signatures)
        merged += [s for s in signatures if s not in merged]
        return SignedNote(self.text, tuple(merged))

    @classmethod
    def parse(cls, data: bytes) -> SignedNote:
        """Parse strictly: UTF-8, no control characters but newline, text ending in a
        newline, a blank line, then one or more well-formed signature lines."""
        whole = _decode_note(data, "signed note")
        split = whole.rfind("\n\n")
        if split < 0:
            raise MalformedNote("no blank line between note text and signatures")
        text, block = whole[: split + 1], whole[split + 2:]
        lines = block.split("\n")[:-1]  # the block ends with a newline
        if not lines:
            raise MalformedNote("a signed note has at least one signature line")
        if len(lines) > MAX_SIGNATURES:
            raise MalformedNote(f"more than {MAX_SIGNATURES} signatures")
        return cls(text.encode("utf-8"), tuple(_parse_signature_line(line) for line in lines))


def _parse_signature_line(line: str) -> NoteSignature:
    if not line.startswith(EM_DASH + " "):
        raise MalformedNote("a signature line starts with an em dash (U+2014) and a space")
    name, space, encoded = line[2:].partition(" ")
    if not space:
        raise MalformedNote("a signature line is '— <key name> <base64>'")
    _check_key_name(name)
    raw = _b64decode(encoded, "signature")
    if len(raw) < 5:
        raise MalformedNote("a signature is a 4-byte key ID and at least one byte")
    return NoteSignature(name, raw[:4], raw[4:])


def key_id(name: str, kind: SignatureKind, public_key: SM2PublicKey) -> bytes:
    """SHA-256(key name || 0x0A || type bytes || 65-byte point)[:4] (signed-note)."""
    _check_key_name(name)
    data = name.encode("utf-8") + b"\n" + kind.value + public_key.point()
    return hashlib.sha256(data).digest()[:4]


def cosigned_message(text: bytes, timestamp: int) -> bytes:
    """What a witness signs: ``cosignature/v1``, ``time <t>``, then the checkpoint text."""
    return COSIGNATURE_HEADER + b"time %d\n" % timestamp + text


@dataclass(frozen=True)
class VerifiedSignature:
    """A signature line that verified, with the cosignature time (None for a log key)."""

    verifier: NoteVerifier
    timestamp: int | None


class NoteVerifier:
    """A known public key with its name and signature type."""

    __slots__ = ("key_id", "kind", "name", "public_key")

    def __init__(self, name: str, public_key: SM2PublicKey,
                 kind: SignatureKind = SignatureKind.NOTE) -> None:
        self.name = name
        self.public_key = public_key
        self.kind = kind
        self.key_id = key_id(name, kind, public_key)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, NoteVerifier):
            return NotImplemented
        return (self.name, self.kind, self.public_key) == (other.name, other.kind,
                                                           other.public_key)

    def __hash__(self) -> int:
        return hash((self.name, self.kind, self.key_id))

    def __repr__(self) -> str:
        return f"NoteVerifier({self.vkey()!r})"

    def matches(self, signature: NoteSignature) -> bool:
        return signature.name == self.name and signature.key_id == self.key_id

    def verify(self, text: bytes, signature: NoteSignature) -> VerifiedSignature:
        """Raise ``InvalidNoteSignature`` unless ``signature`` is this key's over ``text``."""
        if not self.matches(signature):
            raise InvalidNoteSignature(f"signature is not by {self.name}")
        timestamp: int | None = None
        message, der = text, signature.signature
        if self.kind is SignatureKind.COSIGNATURE:
            if len(der) < 9:
                raise InvalidNoteSignature(f"cosignature by {self.name} is too short")
            timestamp = int.from_bytes(der[:8], "big")
            if timestamp >= 1 << 63:
                raise InvalidNoteSignature(f"cosignature time by {self.name} is out of range")
            message, der = cosigned_message(text, timestamp), der[8:]
        try:
            self.public_key.verify(der, message, signer_id=SIGNER_ID,
                                   encoding=SignatureEncoding.DER)
        except CryptoError:
            raise InvalidNoteSignature(f"signature by {self.name} does not verify") from None
        return VerifiedSignature(self, timestamp)

    def vkey(self) -> str:
        """``<name>+<hex key ID>+<base64(type bytes || point)>`` (signed-note verifier key)."""
        material = self.kind.value + self.public_key.point()
        return f"{self.name}+{self.key_id.hex()}+{_b64encode(material)}"

    @classmethod
    def from_vkey(cls, vkey: str) -> NoteVerifier:
        parts = vkey.split("+", 2)  # base64 may contain "+", a key name may not
        if len(parts) != 3 or not re.fullmatch(r"[0-9a-f]{8}", parts[1]):
            raise MalformedNote("a verifier key is <name>+<8 hex digits>+<base64>")
        name, hex_id, encoded = parts
        material = _b64decode(encoded, "verifier key")
        for kind in SignatureKind:
            if material.startswith(kind.value):
                try:
                    public_key = SM2PublicKey.from_point(material[len(kind.value):])
                except CryptoError:
                    raise MalformedNote("verifier key holds no valid SM2 point") from None
                verifier = cls(name, public_key, kind)
                if verifier.key_id.hex() != hex_id:
                    raise MalformedNote("verifier key ID does not match its key")
                return verifier
        raise MalformedNote("verifier key is not of an SM2 signature type of this ledger")


class NoteSigner:
    """Signs notes with an SM2 key it never sees (any ``SM2Signer``: key or provider handle)."""

    __slots__ = ("_signer", "_verifier")

    def __init__(self, name: str, signer: SM2Signer,
                 kind: SignatureKind = SignatureKind.NOTE) -> None:
        self._signer = signer
        self._verifier = NoteVerifier(name, signer.public_key(), kind)

    @property
    def name(self) -> str:
        return self._verifier.name

    @property
    def kind(self) -> SignatureKind:
        return self._verifier.kind

    def verifier(self) -> NoteVerifier:
        return self._verifier

    def sign(self, text: bytes, *, timestamp: int | None = None) -> NoteSignature:
        """Sign a note text; cosignatures need the POSIX ``timestamp`` they state."""
        if self.kind is SignatureKind.COSIGNATURE:
            if timestamp is None or not 0 <= timestamp < 1 << 63:
                raise LedgerError("a cosignature needs a POSIX timestamp in 0..2**63-1")
            prefix, message = timestamp.to_bytes(8, "big"), cosigned_message(text, timestamp)
        else:
            if timestamp is not None:
                raise LedgerError("only cosignatures carry a timestamp")
            prefix, message = b"", text
        der = self._signer.sign(message, signer_id=SIGNER_ID, encoding=SignatureEncoding.DER)
        return NoteSignature(self.name, self._verifier.key_id, prefix + der)


def verify_note(note: SignedNote, verifiers: Iterable[NoteVerifier]) -> list[VerifiedSignature]:
    """signed-note verification: lines from unknown keys (name and key ID not both known)
    are ignored; a known key's line that fails rejects the whole note; at least one known
    key must have signed. Returns the verified lines, one per key."""
    known: dict[tuple[str, bytes], NoteVerifier] = {}
    for verifier in verifiers:
        slot = (verifier.name, verifier.key_id)
        if known.setdefault(slot, verifier) != verifier:
            raise LedgerError(f"two known keys share the name and key ID of {verifier.name}")
    verified: dict[tuple[str, bytes], VerifiedSignature] = {}
    for signature in note.signatures:
        match = known.get((signature.name, signature.key_id))
        if match is not None:
            verified.setdefault((match.name, match.key_id), match.verify(note.text, signature))
    if not verified:
        raise InvalidNoteSignature("the note carries no signature by a known key")
    return list(verified.values())


# --- checkpoints: signing, witnessing, verifying ----------------------------------------------

def sign_checkpoint(checkpoint: Checkpoint, log_key: NoteSigner) -> bytes:
    """The signed checkpoint note, signed by the log (whose key name is the origin)."""
    if log_key.kind is not SignatureKind.NOTE:
        raise LedgerError("a log signs with a note key, not a cosignature key")
    if log_key.name != checkpoint.origin:
        raise LedgerError("the log's key name must be the checkpoint origin")
    text = checkpoint.text()
    return SignedNote(text, (log_key.sign(text),)).encode()


def add_cosignatures(note: bytes, cosignatures: Iterable[NoteSignature]) -> bytes:
    """The note with witness cosignature lines appended."""
    return SignedNote.parse(note).with_signatures(*cosignatures).encode()


@dataclass(frozen=True)
class WitnessPolicy:
    """Trust a checkpoint only if at least ``threshold`` of ``witnesses`` cosigned it."""

    witnesses: tuple[NoteVerifier, ...]
    threshold: int

    def __post_init__(self) -> None:
        if any(w.kind is not SignatureKind.COSIGNATURE for w in self.witnesses):
            raise LedgerError("witness keys must be cosignature keys")
        if len({w.name for w in self.witnesses}) != len(self.witnesses):
            raise LedgerError("witness names must be distinct")
        if not 0 <= self.threshold <= len(self.witnesses):
            raise LedgerError(f"threshold must be within 0..{len(self.witnesses)}")


@dataclass(frozen=True)
class VerifiedCheckpoint:
    """A checkpoint whose log signature (and witness policy) verified."""

    checkpoint: Checkpoint
    cosigners: Mapping[str, int] = field(default_factory=dict)  # witness name -> time


# Parsing only, kept per exact note bytes: a verifier meets the same checkpoint in every
# proof against it (an offline bundle carries one). The results are immutable values; a
# note that does not parse raises every time (lru_cache keeps no exception), and every
# signature is verified at every call.
@functools.lru_cache(maxsize=16)
def _parsed_note(note: bytes) -> SignedNote:
    return SignedNote.parse(note)


@functools.lru_cache(maxsize=16)
def _parsed_checkpoint(text: bytes) -> Checkpoint:
    return Checkpoint.from_text(text)


def verify_checkpoint(note: bytes, log_key: NoteVerifier, *,
                      policy: WitnessPolicy | None = None,
                      origin: str | None = None) -> VerifiedCheckpoint:
    """Parse and verify a signed checkpoint: a valid signature by ``log_key`` is required,
    the origin must be ``origin`` (default: the log key's name), and the witness policy,
    if any, must be met. Any known key's failing signature rejects the note."""
    if log_key.kind is not SignatureKind.NOTE:
        raise LedgerError("the log key must be a note key")
    exact = type(note) is bytes
    parsed = _parsed_note(note) if exact else SignedNote.parse(note)
    witnesses = policy.witnesses if policy else ()
    verified = verify_note(parsed, [log_key, *witnesses])
    if not any(v.verifier == log_key for v in verified):
        raise InvalidNoteSignature(f"the checkpoint is not signed by the log key {log_key.name}")
    checkpoint = _parsed_checkpoint(parsed.text) if exact else Checkpoint.from_text(parsed.text)
    expected = log_key.name if origin is None else origin
    if checkpoint.origin != expected:
        raise UnknownLog(f"checkpoint origin {checkpoint.origin!r} is not {expected!r}")
    cosigners = {v.verifier.name: v.timestamp for v in verified
                 if v.verifier.kind is SignatureKind.COSIGNATURE and v.timestamp is not None}
    if policy is not None and len(cosigners) < policy.threshold:
        raise CosignaturePolicyNotMet(
            f"{len(cosigners)} of the required {policy.threshold} witnesses cosigned")
    return VerifiedCheckpoint(checkpoint, cosigners)


def _now() -> int:
    return int(time.time())


class Witness:
    """Cosigns checkpoints of the logs it follows, only ever forwards in one history.

    Before cosigning it checks the log's signature and that the new checkpoint is
    consistent with the last one it cosigned for that origin (a consistency proof from that
    size); it refuses a smaller tree (rollback) and a different tree (fork). The first
    checkpoint of a log is trusted on first use unless ``state`` seeds one. ``state()``
    is what a deployment persists between runs.
    """

    def __init__(self, key: NoteSigner, logs: Iterable[NoteVerifier], *,
                 state: Mapping[str, tuple[int, bytes]] | None = None,
                 clock: Callable[[], int] = _now) -> None:
        if key.kind is not SignatureKind.COSIGNATURE:
            raise LedgerError("a witness signs with a cosignature key")
        self._key = key
        self._logs = {log.name: log for log in logs}
        if any(log.kind is not SignatureKind.NOTE for log in self._logs.values()):
            raise LedgerError("log keys must be note keys")
        self._state: dict[str, tuple[int, bytes]] = dict(state or {})
        self._clock = clock

    @property
    def name(self) -> str:
        return self._key.name

    def verifier(self) -> NoteVerifier:
        return self._key.verifier()

    def latest(self, origin: str) -> tuple[int, bytes] | None:
        """The (size, root) last cosigned for ``origin``: the proof must start there."""
        return self._state.get(origin)

    def state(self) -> dict[str, tuple[int, bytes]]:
        return dict(self._state)

    def cosign(self, note: bytes, proof: Sequence[bytes] = ()) -> NoteSignature:
        """Cosign a signed checkpoint given the consistency proof from ``latest(origin)``."""
        parsed = SignedNote.parse(note)
        checkpoint = Checkpoint.from_text(parsed.text)
        log_key = self._logs.get(checkpoint.origin)
        if log_key is None:
            raise UnknownLog(f"witness {self.name} does not follow {checkpoint.origin!r}")
        verify_note(parsed, [log_key])
        previous = self._state.get(checkpoint.origin)
        if previous is not None:
            old_size, old_root = previous
            if checkpoint.size < old_size:
                raise RollbackDetected(
                    f"{checkpoint.origin}: size {checkpoint.size} after cosigning {old_size}")
            if checkpoint.size == old_size:
                if checkpoint.root_hash != old_root:
                    raise ForkDetected(f"{checkpoint.origin}: two roots for size {old_size}")
            else:
                try:
                    verify_consistency(old_size, checkpoint.size, proof, old_root,
                                       checkpoint.root_hash)
                except InvalidProof as exc:
                    raise ForkDetected(f"{checkpoint.origin}: size {checkpoint.size} does not "
                                       f"extend cosigned size {old_size}: {exc}") from exc
        signature = self._key.sign(parsed.text, timestamp=self._clock())
        self._state[checkpoint.origin] = (checkpoint.size, checkpoint.root_hash)
        return signature
