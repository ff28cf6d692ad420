"""Checkpoints: C2SP tlog-checkpoint text, signed-note parsing and SM2 signatures, witness
cosigning (refusing forks and rollbacks) and the k-of-n witness policy."""

from __future__ import annotations

import base64
import hashlib
import shutil
import subprocess
from pathlib import Path

import pytest

from crypto.sm2 import (
    DEFAULT_SIGNER_ID,
    Encoding,
    SignatureEncoding,
    SM2PrivateKey,
    SM2PublicKey,
)
from ledger import merkle
from ledger.checkpoint import (
    Checkpoint,
    NoteSignature,
    NoteSigner,
    NoteVerifier,
    SignatureKind,
    SignedNote,
    Witness,
    WitnessPolicy,
    add_cosignatures,
    cosigned_message,
    key_id,
    sign_checkpoint,
    verify_checkpoint,
    verify_note,
)
from ledger.errors import (
    CosignaturePolicyNotMet,
    ForkDetected,
    InconsistentCheckpoint,
    InvalidNoteSignature,
    LedgerError,
    MalformedNote,
    RollbackDetected,
    UnknownLog,
)

ORIGIN = "ledger.edutrust.example/main"
COSIG = SignatureKind.COSIGNATURE


class ProviderHandle:
    """A stand-in for a key provider's handle: signs, never exposes the private key."""

    def __init__(self) -> None:
        self._key = SM2PrivateKey.generate()
        self.calls = 0

    def sign(self, data: bytes, *, signer_id: bytes = DEFAULT_SIGNER_ID,
             encoding: SignatureEncoding = SignatureEncoding.DER) -> bytes:
        self.calls += 1
        return self._key.sign(data, signer_id=signer_id, encoding=encoding)

    def public_key(self) -> SM2PublicKey:
        return self._key.public_key()


@pytest.fixture(scope="module")
def log_key() -> NoteSigner:
    return NoteSigner(ORIGIN, ProviderHandle())


@pytest.fixture(scope="module")
def witness_keys() -> list[NoteSigner]:
    return [NoteSigner(f"witness.school-{c}.example/w1", SM2PrivateKey.generate(), COSIG)
            for c in "abc"]


def _tree(leaves: list[bytes]) -> merkle.MemoryNodeStore:
    store = merkle.MemoryNodeStore()
    store.extend(merkle.leaf_hash(leaf) for leaf in leaves)
    return store


@pytest.fixture(scope="module")
def store() -> merkle.MemoryNodeStore:
    return _tree([f"tx {i}".encode() for i in range(20)])


def _checkpoint(store: merkle.MemoryNodeStore, size: int) -> Checkpoint:
    return Checkpoint(ORIGIN, size, merkle.stored_root(size, store))


class Clock:
    def __init__(self) -> None:
        self.now = 1_750_000_000

    def __call__(self) -> int:
        self.now += 1
        return self.now


def _witnesses(witness_keys: list[NoteSigner], log_key: NoteSigner) -> list[Witness]:
    return [Witness(k, [log_key.verifier()], clock=Clock()) for k in witness_keys]


# --- format -----------------------------------------------------------------------------------

def test_checkpoint_text_is_origin_size_and_base64_root_lines() -> None:
    root = bytes(range(32))
    text = Checkpoint(ORIGIN, 1234, root, ("ext one",)).text()
    assert text == (f"{ORIGIN}\n1234\n{base64.b64encode(root).decode()}\next one\n").encode()
    assert Checkpoint.from_text(text) == Checkpoint(ORIGIN, 1234, root, ("ext one",))


def test_signed_checkpoint_round_trips_and_verifies(log_key: NoteSigner,
                                                    store: merkle.MemoryNodeStore) -> None:
    checkpoint = _checkpoint(store, 7)
    note = sign_checkpoint(checkpoint, log_key)
    text, _, sigs = note.partition(b"\n\n")
    assert text + b"\n" == checkpoint.text()
    assert sigs.startswith(f"\u2014 {ORIGIN} ".encode())
    assert sigs.endswith(b"\n") and sigs.count(b"\n") == 1
    assert SignedNote.parse(note).encode() == note
    assert verify_checkpoint(note, log_key.verifier()).checkpoint == checkpoint


def test_empty_tree_checkpoint_is_size_zero_with_empty_root(log_key: NoteSigner) -> None:
    checkpoint = Checkpoint(ORIGIN, 0, merkle.empty_root())
    note = sign_checkpoint(checkpoint, log_key)
    assert note.split(b"\n")[1] == b"0"
    assert verify_checkpoint(note, log_key.verifier()).checkpoint.size == 0


def test_signature_is_der_sm2_over_note_text_with_key_id_prefix(log_key: NoteSigner,
                                                                store: merkle.MemoryNodeStore
                                                                ) -> None:
    checkpoint = _checkpoint(store, 3)
    note = SignedNote.parse(sign_checkpoint(checkpoint, log_key))
    (signature,) = note.signatures
    public = log_key.verifier().public_key
    expected_id = hashlib.sha256(ORIGIN.encode() + b"\n" + b"\xffedutrust-sm2-note/v1\n"
                                 + public.point()).digest()[:4]
    assert signature.key_id == expected_id == key_id(ORIGIN, SignatureKind.NOTE, public)
    assert signature.signature[0] == 0x30  # DER SEQUENCE
    public.verify(signature.signature, checkpoint.text(), signer_id=b"1234567812345678",
                  encoding=SignatureEncoding.DER)


def test_same_key_and_name_have_distinct_ids_per_signature_type() -> None:
    key = SM2PrivateKey.generate()
    note_key = NoteSigner("w.example/x", key)
    cosig_key = NoteSigner("w.example/x", key, COSIG)
    assert note_key.verifier().key_id != cosig_key.verifier().key_id


def test_signer_is_any_sm2_signer_and_key_is_used_once_per_signature(
        store: merkle.MemoryNodeStore) -> None:
    handle = ProviderHandle()
    signer = NoteSigner(ORIGIN, handle)
    sign_checkpoint(_checkpoint(store, 2), signer)
    assert handle.calls == 1


def test_verifier_key_string_round_trips(log_key: NoteSigner,
                                         witness_keys: list[NoteSigner]) -> None:
    for verifier in (log_key.verifier(), witness_keys[0].verifier()):
        vkey = verifier.vkey()
        assert vkey.startswith(verifier.name + "+" + verifier.key_id.hex() + "+")
        assert NoteVerifier.from_vkey(vkey) == verifier


@pytest.mark.parametrize("mutate", [
    lambda v: v.replace("+", "", 1),
    lambda v: v.split("+")[0] + "+00000000+" + v.split("+")[2],
    lambda v: v[:-4] + "AAA=",
    lambda v: v + "+extra",
    lambda v: "x" + v,  # name change breaks the key ID
])
def test_malformed_verifier_key_is_rejected(log_key: NoteSigner, mutate: object) -> None:
    assert callable(mutate)
    with pytest.raises(MalformedNote):
        NoteVerifier.from_vkey(mutate(log_key.verifier().vkey()))


@pytest.mark.parametrize("name", ["", "a b", "a+b", "a\u3000b", "a\tb", "a\u00a0b"])
def test_key_names_with_spaces_or_plus_are_refused(name: str) -> None:
    with pytest.raises(MalformedNote):
        NoteSigner(name, SM2PrivateKey.generate())


# --- tampering --------------------------------------------------------------------------------

def _replace_text(note: bytes, old: bytes, new: bytes) -> bytes:
    split = note.index(b"\n\n") + 1
    text, rest = note[:split], note[split:]
    assert old in text
    return text.replace(old, new, 1) + rest


def test_tampered_body_is_rejected(log_key: NoteSigner, store: merkle.MemoryNodeStore) -> None:
    checkpoint = _checkpoint(store, 7)
    note = sign_checkpoint(checkpoint, log_key)
    root_b64 = base64.b64encode(checkpoint.root_hash)
    other_b64 = base64.b64encode(merkle.stored_root(8, store))
    for tampered in [
        _replace_text(note, b"\n7\n", b"\n8\n"),
        _replace_text(note, root_b64, other_b64),
        _replace_text(note, root_b64 + b"\n", root_b64 + b"\nextension\n"),
        _replace_text(note, b"main", b"mainx"),
    ]:
        with pytest.raises(InvalidNoteSignature):
            verify_checkpoint(tampered, log_key.verifier(), origin=None)


def test_tampered_signature_is_rejected(log_key: NoteSigner,
                                        store: merkle.MemoryNodeStore) -> None:
    note = SignedNote.parse(sign_checkpoint(_checkpoint(store, 7), log_key))
    (sig,) = note.signatures
    for position in (0, len(sig.signature) // 2, len(sig.signature) - 1):
        flipped = bytearray(sig.signature)
        flipped[position] ^= 0x01
        bad = SignedNote(note.text, (NoteSignature(sig.name, sig.key_id, bytes(flipped)),))
        with pytest.raises(InvalidNoteSignature):
            verify_checkpoint(bad.encode(), log_key.verifier())
    # A flipped key ID makes the line someone else's: ignored, so no log signature remains.
    other_id = bytes([sig.key_id[0] ^ 1]) + sig.key_id[1:]
    bad = SignedNote(note.text, (NoteSignature(sig.name, other_id, sig.signature),))
    with pytest.raises(InvalidNoteSignature):
        verify_checkpoint(bad.encode(), log_key.verifier())


def test_signatures_by_unknown_keys_are_ignored(log_key: NoteSigner,
                                                store: merkle.MemoryNodeStore) -> None:
    note = SignedNote.parse(sign_checkpoint(_checkpoint(store, 7), log_key))
    (good,) = note.signatures
    junk = [
        NoteSignature("someone.example/else", b"\x01\x02\x03\x04", b"x" * 70),
        NoteSignature(ORIGIN, bytes(4) if good.key_id != bytes(4) else b"\x01" * 4, b"x" * 70),
        NoteSignature("other.example/name", good.key_id, b"x" * 70),
    ]
    for extra in junk:
        for order in ((extra, good), (good, extra)):
            result = verify_checkpoint(SignedNote(note.text, order).encode(), log_key.verifier())
            assert result.checkpoint.size == 7


def test_failing_signature_by_known_key_rejects_whole_note(log_key: NoteSigner,
                                                           store: merkle.MemoryNodeStore) -> None:
    note = SignedNote.parse(sign_checkpoint(_checkpoint(store, 7), log_key))
    (good,) = note.signatures
    bad = NoteSignature(good.name, good.key_id, good.signature[:-1] + b"\x00")
    with pytest.raises(InvalidNoteSignature):
        verify_checkpoint(SignedNote(note.text, (good, bad)).encode(), log_key.verifier())


def test_checkpoint_signed_only_by_a_witness_is_rejected(log_key: NoteSigner,
                                                         witness_keys: list[NoteSigner],
                                                         store: merkle.MemoryNodeStore) -> None:
    checkpoint = _checkpoint(store, 4)
    text = checkpoint.text()
    only_witness = SignedNote(text, (witness_keys[0].sign(text, timestamp=1),)).encode()
    policy = WitnessPolicy((witness_keys[0].verifier(),), 1)
    with pytest.raises(InvalidNoteSignature):
        verify_checkpoint(only_witness, log_key.verifier(), policy=policy)


def test_checkpoint_of_another_origin_is_rejected(store: merkle.MemoryNodeStore) -> None:
    other = NoteSigner("other.example/log", SM2PrivateKey.generate())
    note = sign_checkpoint(Checkpoint("other.example/log", 1, merkle.stored_root(1, store)),
                           other)
    with pytest.raises(UnknownLog):
        verify_checkpoint(note, other.verifier(), origin=ORIGIN)


# --- malformed notes --------------------------------------------------------------------------

ROOT = base64.b64encode(bytes(32)).decode()
SIG = base64.b64encode(b"\x00\x01\x02\x03" + b"s" * 70).decode()
GOOD = f"{ORIGIN}\n5\n{ROOT}\n\n\u2014 {ORIGIN} {SIG}\n"


def test_well_formed_reference_note_parses() -> None:
    note = SignedNote.parse(GOOD.encode())
    assert Checkpoint.from_text(note.text).size == 5


@pytest.mark.parametrize("text", [
    GOOD.replace("\n\n", "\n"),                                 # no blank line
    f"{ORIGIN}\n5\n{ROOT}\n\n",                                 # no signature line
    GOOD.replace("\u2014", "-"),                                # hyphen, not em dash
    GOOD.replace("\u2014 ", "\u2014"),                          # no space after the dash
    GOOD.replace(f"\u2014 {ORIGIN}", f"\u2014  {ORIGIN}"),      # two spaces: empty name
    GOOD.replace(f"\u2014 {ORIGIN}", "\u2014 a+b"),             # '+' in key name
    GOOD.replace(f"\u2014 {ORIGIN}", "\u2014 a\u3000b"),        # ideographic space in name
    GOOD.replace(f"\u2014 {ORIGIN}", "\u2014 a\u00a0b"),        # no-break space in name
    GOOD.replace(f"\u2014 {ORIGIN}", "\u2014 a\x1fb"),          # unit separator in name
    GOOD.replace(f"{ORIGIN}\n5", f"{ORIGIN}\x0b\n5"),           # vertical tab in origin
    GOOD.replace(SIG, SIG + " "),                               # trailing space
    GOOD.replace(SIG, SIG.rstrip("=")),                         # missing padding
    GOOD.replace(SIG, "not*base64"),
    GOOD.replace(SIG, base64.b64encode(b"\x00\x01\x02\x03").decode()),  # no signature bytes
    GOOD.replace("\n", "\r\n"),                                 # CRLF
    GOOD.replace("\n5\n", "\n5\t\n"),                           # control character
    GOOD[:-1],                                                  # no final newline
    GOOD + "\n",                                                # trailing blank line
    GOOD.replace("\n5\n", "\n05\n"),                            # leading zero
    GOOD.replace("\n5\n", "\n+5\n"),
    GOOD.replace("\n5\n", "\n 5\n"),
    GOOD.replace("\n5\n", "\n\u0665\n"),                        # Arabic-Indic digit five
    GOOD.replace("\n5\n", f"\n{2**64}\n"),                      # beyond uint64
    GOOD.replace(ROOT, base64.b64encode(bytes(31)).decode()),   # root not 32 bytes
    GOOD.replace(ROOT, ROOT[:-2] + "B="),                       # non-canonical base64
    GOOD.replace(f"{ROOT}\n\n", f"{ROOT}\n\next\n\n"),          # empty extension line
    GOOD.replace(f"\n5\n{ROOT}", ""),                           # fewer than three lines
    GOOD.replace(f"{ORIGIN}\n5", "\n5"),                        # empty origin
])
def test_malformed_note_is_rejected(text: str) -> None:
    with pytest.raises(MalformedNote):
        Checkpoint.from_text(SignedNote.parse(text.encode()).text)


def test_note_that_is_not_utf8_is_rejected() -> None:
    with pytest.raises(MalformedNote):
        SignedNote.parse(GOOD.encode().replace(b"main", b"ma\xffn"))


def test_note_with_too_many_signatures_is_rejected() -> None:
    sig_line = GOOD.split("\n\n")[1]
    SignedNote.parse((GOOD + sig_line * 63).encode())  # 64 accepted
    with pytest.raises(MalformedNote):
        SignedNote.parse((GOOD + sig_line * 64).encode())


# --- witnesses --------------------------------------------------------------------------------

def test_witnesses_cosign_a_growing_log_and_policy_counts_them(
        log_key: NoteSigner, witness_keys: list[NoteSigner],
        store: merkle.MemoryNodeStore) -> None:
    witnesses = _witnesses(witness_keys, log_key)
    policy = WitnessPolicy(tuple(w.verifier() for w in witnesses), 2)
    sizes = [1, 5, 5, 8, 13, 20]
    previous = 0
    for size in sizes:
        note = sign_checkpoint(_checkpoint(store, size), log_key)
        with pytest.raises(CosignaturePolicyNotMet):
            verify_checkpoint(note, log_key.verifier(), policy=policy)
        cosignatures = []
        for witness in witnesses[:2]:
            proof = merkle.consistency_proof(previous, size, store)
            cosignatures.append(witness.cosign(note, proof))
            assert witness.latest(ORIGIN) == (size, merkle.stored_root(size, store))
        note = add_cosignatures(note, cosignatures)
        result = verify_checkpoint(note, log_key.verifier(), policy=policy)
        assert result.checkpoint.size == size
        assert set(result.cosigners) == {witnesses[0].name, witnesses[1].name}
        with pytest.raises(CosignaturePolicyNotMet):
            verify_checkpoint(note, log_key.verifier(),
                              policy=WitnessPolicy(policy.witnesses, 3))
        previous = size


def test_cosignature_signs_header_time_and_checkpoint_text(
        log_key: NoteSigner, witness_keys: list[NoteSigner],
        store: merkle.MemoryNodeStore) -> None:
    clock = Clock()
    witness = Witness(witness_keys[0], [log_key.verifier()], clock=clock)
    checkpoint = _checkpoint(store, 6)
    cosig = witness.cosign(sign_checkpoint(checkpoint, log_key))
    assert int.from_bytes(cosig.signature[:8], "big") == clock.now
    message = b"cosignature/v1\ntime %d\n" % clock.now + checkpoint.text()
    assert cosigned_message(checkpoint.text(), clock.now) == message
    witness.verifier().public_key.verify(cosig.signature[8:], message)
    note = add_cosignatures(sign_checkpoint(checkpoint, log_key), [cosig])
    policy = WitnessPolicy((witness.verifier(),), 1)
    assert verify_checkpoint(note, log_key.verifier(), policy=policy).cosigners == {
        witness.name: clock.now}


def test_cosignature_with_altered_timestamp_is_rejected(
        log_key: NoteSigner, witness_keys: list[NoteSigner],
        store: merkle.MemoryNodeStore) -> None:
    witness = Witness(witness_keys[0], [log_key.verifier()], clock=Clock())
    note = sign_checkpoint(_checkpoint(store, 6), log_key)
    cosig = witness.cosign(note)
    later = (int.from_bytes(cosig.signature[:8], "big") + 60).to_bytes(8, "big")
    forged = NoteSignature(cosig.name, cosig.key_id, later + cosig.signature[8:])
    with pytest.raises(InvalidNoteSignature):
        verify_checkpoint(add_cosignatures(note, [forged]), log_key.verifier(),
                          policy=WitnessPolicy((witness.verifier(),), 1))


def test_witness_refuses_a_fork_with_a_different_history(
        log_key: NoteSigner, witness_keys: list[NoteSigner],
        store: merkle.MemoryNodeStore) -> None:
    witness = Witness(witness_keys[0], [log_key.verifier()], clock=Clock())
    witness.cosign(sign_checkpoint(_checkpoint(store, 6), log_key))
    # The log rewrites leaf 3 and shows a bigger tree: no honest proof links the two.
    forked_leaves = [f"tx {i}".encode() for i in range(20)]
    forked_leaves[3] = b"rewritten"
    fork = _tree(forked_leaves)
    note = sign_checkpoint(_checkpoint(fork, 10), log_key)
    for proof in (merkle.consistency_proof(6, 10, fork), merkle.consistency_proof(6, 10, store),
                  []):
        with pytest.raises(ForkDetected):
            witness.cosign(note, proof)
    assert witness.latest(ORIGIN) == (6, merkle.stored_root(6, store))


def test_witness_refuses_a_second_root_for_the_same_size(
        log_key: NoteSigner, witness_keys: list[NoteSigner],
        store: merkle.MemoryNodeStore) -> None:
    witness = Witness(witness_keys[0], [log_key.verifier()], clock=Clock())
    witness.cosign(sign_checkpoint(_checkpoint(store, 6), log_key))
    fork = _tree([b"a", b"b", b"c", b"d", b"e", b"f"])
    with pytest.raises(ForkDetected):
        witness.cosign(sign_checkpoint(_checkpoint(fork, 6), log_key))


def test_witness_refuses_a_rollback(log_key: NoteSigner, witness_keys: list[NoteSigner],
                                    store: merkle.MemoryNodeStore) -> None:
    witness = Witness(witness_keys[0], [log_key.verifier()], clock=Clock())
    witness.cosign(sign_checkpoint(_checkpoint(store, 9), log_key))
    with pytest.raises(RollbackDetected):
        witness.cosign(sign_checkpoint(_checkpoint(store, 4), log_key))
    assert issubclass(RollbackDetected, InconsistentCheckpoint)
    assert witness.latest(ORIGIN) == (9, merkle.stored_root(9, store))


def test_witness_resumes_from_persisted_state(log_key: NoteSigner,
                                              witness_keys: list[NoteSigner],
                                              store: merkle.MemoryNodeStore) -> None:
    first = Witness(witness_keys[0], [log_key.verifier()], clock=Clock())
    first.cosign(sign_checkpoint(_checkpoint(store, 9), log_key))
    again = Witness(witness_keys[0], [log_key.verifier()], state=first.state(), clock=Clock())
    with pytest.raises(RollbackDetected):
        again.cosign(sign_checkpoint(_checkpoint(store, 8), log_key))
    again.cosign(sign_checkpoint(_checkpoint(store, 12), log_key),
                 merkle.consistency_proof(9, 12, store))


def test_witness_refuses_checkpoint_not_signed_by_the_log(
        log_key: NoteSigner, witness_keys: list[NoteSigner],
        store: merkle.MemoryNodeStore) -> None:
    witness = Witness(witness_keys[0], [log_key.verifier()], clock=Clock())
    impostor = NoteSigner(ORIGIN, SM2PrivateKey.generate())  # same name, other key
    with pytest.raises(InvalidNoteSignature):
        witness.cosign(sign_checkpoint(_checkpoint(store, 3), impostor))
    assert witness.latest(ORIGIN) is None


def test_witness_refuses_a_log_it_does_not_follow(witness_keys: list[NoteSigner],
                                                  store: merkle.MemoryNodeStore) -> None:
    stranger = NoteSigner("stranger.example/log", SM2PrivateKey.generate())
    witness = Witness(witness_keys[0], [], clock=Clock())
    note = sign_checkpoint(Checkpoint(stranger.name, 1, merkle.stored_root(1, store)), stranger)
    with pytest.raises(UnknownLog):
        witness.cosign(note)


def test_keys_of_the_wrong_kind_are_refused(log_key: NoteSigner,
                                            witness_keys: list[NoteSigner]) -> None:
    with pytest.raises(LedgerError):
        Witness(log_key, [log_key.verifier()])
    with pytest.raises(LedgerError):
        WitnessPolicy((log_key.verifier(),), 1)
    with pytest.raises(LedgerError):
        WitnessPolicy((witness_keys[0].verifier(),), 2)
    with pytest.raises(LedgerError):
        sign_checkpoint(Checkpoint(witness_keys[0].name, 0, merkle.empty_root()),
                        witness_keys[0])


def test_verify_note_needs_at_least_one_known_key(log_key: NoteSigner,
                                                  witness_keys: list[NoteSigner],
                                                  store: merkle.MemoryNodeStore) -> None:
    note = SignedNote.parse(sign_checkpoint(_checkpoint(store, 2), log_key))
    assert [v.verifier for v in verify_note(note, [log_key.verifier()])] == [log_key.verifier()]
    with pytest.raises(InvalidNoteSignature):
        verify_note(note, [witness_keys[0].verifier()])


# --- the worked example of docs/ledger.md (known answers) -------------------------------------

EXAMPLE_LOG_VKEY = (
    "example.edutrust.cn/log+916bbcdc+/2VkdXRydXN0LXNtMi1ub3RlL3YxCgToy6WHe/8etEWChU24/7P9cVn/"
    "a6PPywKsMLswG5vINJeycte3N2TbmbQuJr6ePSnATogTC1Ym8fNHwBSl+9Oa")
EXAMPLE_WITNESS_VKEY = (
    "witness.example.edu.cn/w1+6c8c212c+/2VkdXRydXN0LXNtMi1jb3NpZ25hdHVyZS92MQoES66A+/ESPCTm0l"
    "CM198pA2jVfuc1ea33kU8zkUhIhdKE5TBmf3tBHtd/sYClCxbO3pApl8dy5iCmBqKQtkhE7g==")
EXAMPLE_NOTE = (
    "example.edutrust.cn/log\n"
    "3\n"
    "vzqTxmrs+lIQ8KbnlGe7F+/6mKaIvttGk9I8HR/g9FA=\n"
    "\n"
    "\u2014 example.edutrust.cn/log kWu83DBFAiAuZDWdoBL8DTmBu/rZjeg/zEk8bvXynXsVRXG+TQ8FJQIhAOn"
    "btj2McKBU5IO/2XPByGkN4573RooLeTWxwJxhYUR5\n"
    "\u2014 witness.example.edu.cn/w1 bIwhLAAAAABpVbkAMEQCIGgxFxcOE3tOWVgvbpba6oOTpHI1dhCtaEp1Z"
    "Aqv+1kDAiBFt8ksrGaQw7ZlOXO81e3QsxrhWui+zIyml6ix2zqbuw==\n").encode()


def test_worked_example_of_the_docs_verifies() -> None:
    leaves = [merkle.leaf_hash(b"leaf-%d" % i) for i in range(3)]
    assert leaves[2].hex() == "843a53ba70c2678c3c5096ffa3efdf552f94753cdc0d412ce9fc3fc982fa3071"
    root = merkle.root(leaves)
    assert root.hex() == "bf3a93c66aecfa5210f0a6e79467bb17effa98a688bedb4693d23c1d1fe0f450"
    log = NoteVerifier.from_vkey(EXAMPLE_LOG_VKEY)
    witness = NoteVerifier.from_vkey(EXAMPLE_WITNESS_VKEY)
    assert witness.kind is COSIG
    result = verify_checkpoint(EXAMPLE_NOTE, log, policy=WitnessPolicy((witness,), 1))
    assert result.checkpoint == Checkpoint("example.edutrust.cn/log", 3, root)
    assert result.cosigners == {"witness.example.edu.cn/w1": 1767225600}
    proof = merkle.InclusionProof.from_json(
        {"index": 2, "size": 3, "hashes": ["pYpQDklR4wt5KUgm80+tXsxsEpflD18c4o/lu2AwtOw="]})
    proof.verify(leaves[2], result.checkpoint.root_hash)


def test_openssl_verifies_the_log_signature(tmp_path: Path, log_key: NoteSigner,
                                            store: merkle.MemoryNodeStore) -> None:
    if shutil.which("openssl") is None:
        pytest.skip("no openssl command line")
    folder = tmp_path
    checkpoint = _checkpoint(store, 11)
    (signature,) = SignedNote.parse(sign_checkpoint(checkpoint, log_key)).signatures
    (folder / "text").write_bytes(checkpoint.text())
    (folder / "sig").write_bytes(signature.signature)
    (folder / "pub.pem").write_bytes(log_key.verifier().public_key.public_bytes(Encoding.PEM))
    result = subprocess.run(
        ["openssl", "pkeyutl", "-verify", "-pubin", "-inkey", "pub.pem", "-rawin",
         "-digest", "sm3", "-in", "text", "-sigfile", "sig",
         "-pkeyopt", "distid:1234567812345678"],
        cwd=folder, capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Verified Successfully" in result.stdout
