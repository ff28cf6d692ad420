"""The WebAuthn registration and authentication ceremonies (WebAuthn Level 2, 7.1 and
7.2) with py_webauthn doing the verification, plus what a person does with their
passkeys afterwards (list, rename, remove).

Every ceremony starts with options that carry a fresh 32-byte challenge. The challenge
is kept server-side (``idp.webauthn.challenges``: Redis when configured, else the
database) under a key naming the browser session and the challenge itself, with what the
ceremony was for (whose passkey, which attestation); verification *takes* it (atomically
read and delete), so a challenge works once, only for the browser session it was issued
to, and only for ``challenge_ttl`` seconds. Options are plain JSON
(``PublicKeyCredentialCreationOptions`` / ``RequestOptions`` with base64url binary
fields) as py_webauthn's ``options_to_json`` writes them.

User verification is required in both ceremonies and every passkey is a discoverable
credential (``residentKey: required``), so a person can sign in without typing a username.
The signature counter is checked here rather than by py_webauthn, *after* the signature
verified, so that only the authenticator itself (or a clone of it) can trip it: a counter
that does not go up marks the credential ``possibly_cloned`` and it is refused from then on.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import hashlib
import hmac
import json
import logging
import secrets
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker
from webauthn import (
    generate_authentication_options,
    generate_registration_options,
    options_to_json,
    verify_authentication_response,
    verify_registration_response,
)
from webauthn.helpers import bytes_to_base64url, parse_client_data_json
from webauthn.helpers.cose import COSEAlgorithmIdentifier
from webauthn.helpers.exceptions import WebAuthnException
from webauthn.helpers.structs import (
    AttestationConveyancePreference,
    AttestationFormat,
    AuthenticatorSelectionCriteria,
    AuthenticatorTransport,
    CredentialDeviceType,
    PublicKeyCredentialDescriptor,
    ResidentKeyRequirement,
    UserVerificationRequirement,
)

from idp.directory.models import Membership, Organisation, Person, utcnow
from idp.webauthn import (
    CeremonyExpired,
    CounterRegression,
    PasskeyError,
    UnknownCredential,
    VerificationFailed,
)
from idp.webauthn.challenges import ChallengeStore
from idp.webauthn.models import (
    ATTESTATION_DIRECT,
    ATTESTATION_NONE,
    ATTESTATIONS,
    PasskeyCredential,
    PasskeyOrgPolicy,
)

log = logging.getLogger("edutrust.idp.passkeys")

# Called as record(event, person_id, details) for the audit log; details never hold a
# credential's public key, a challenge or a user handle.
Recorder = Callable[[str, str | None, dict[str, Any]], None]

MAX_PASSKEYS = 16        # per person
MAX_NAME = 64
MAX_RESPONSE = 64 * 1024  # bytes of JSON an authenticator response may take
# ES256 first (every platform authenticator), EdDSA, then RS256 (Windows Hello).
ALGORITHMS = [COSEAlgorithmIdentifier.ECDSA_SHA_256, COSEAlgorithmIdentifier.EDDSA,
              COSEAlgorithmIdentifier.RSASSA_PKCS1_v1_5_SHA_256]
_TRANSPORTS = {t.value for t in AuthenticatorTransport}
_REGISTER, _AUTHENTICATE = "reg", "auth"
# What py_webauthn (and the CBOR and key parsing under it) raises for a response that is
# malformed or does not verify: all of it means "refused", never an error page.
_MALFORMED = (WebAuthnException, ValueError, KeyError, TypeError, IndexError,
              AttributeError, OverflowError)


@dataclass(frozen=True)
class RelyingParty:
    """Who we are to authenticators. ``rp_id`` defaults to the issuer's host and
    ``origin`` to the issuer's origin (scheme, host and port); browsers accept
    ``localhost`` (not an IP address) as RP ID over plain http."""

    rp_id: str
    origins: tuple[str, ...]
    name: str = "EduTrust"
    # Seconds a challenge stays usable; also the browser's timeout hint.
    challenge_ttl: int = 300

    @classmethod
    def for_issuer(cls, issuer: str, *, rp_id: str | None = None,
                   origins: tuple[str, ...] = ()) -> RelyingParty:
        parts = urlsplit(issuer)
        origin = f"{parts.scheme}://{parts.netloc}"
        return cls(rp_id=rp_id or (parts.hostname or ""), origins=origins or (origin,))


@dataclass(frozen=True)
class PasskeyInfo:
    """A registered passkey as its owner sees it."""

    id: str
    name: str
    created_at: dt.datetime
    last_used_at: dt.datetime | None
    backup_eligible: bool
    backed_up: bool
    possibly_cloned: bool
    transports: tuple[str, ...]
    aaguid: str
    attestation_format: str


@dataclass(frozen=True)
class PasskeyAssertion:
    """A verified assertion: whose passkey, which one, and how it was used."""

    person_id: str
    passkey_id: str
    user_verified: bool
    backup_eligible: bool


def _b64url_decode(value: Any) -> bytes:
    if not isinstance(value, str) or len(value) > MAX_RESPONSE:
        raise VerificationFailed("passkey.invalid_response")
    try:
        return base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))
    except (binascii.Error, ValueError):
        raise VerificationFailed("passkey.invalid_response") from None


def _aware(value: dt.datetime | None) -> dt.datetime | None:
    if value is None or value.tzinfo is not None:
        return value
    return value.replace(tzinfo=dt.UTC)


def clean_passkey_name(value: str, fallback: str) -> str:
    """A passkey's name: trimmed, at most 64 characters, no control characters."""
    name = "".join(ch for ch in value.strip() if unicodedata.category(ch) != "Cc")
    return name[:MAX_NAME] or fallback


def _info(row: PasskeyCredential) -> PasskeyInfo:
    created = _aware(row.created_at)
    assert created is not None
    return PasskeyInfo(row.id, row.name, created, _aware(row.last_used_at),
                       bool(row.backup_eligible), bool(row.backed_up),
                       bool(row.possibly_cloned), tuple(row.transports or ()), row.aaguid,
                       row.attestation_format)


class Passkeys:
    """Passkeys of the people in the directory, for one relying party."""

    def __init__(self, sessions: sessionmaker[Session], store: ChallengeStore,
                 rp: RelyingParty, decoy: Callable[[str], str],
                 record: Recorder | None = None) -> None:
        self._sessions = sessions
        self._store = store
        self.rp = rp
        # A keyed, stable digest of a username (the platform's blind index), from which
        # the decoy credential id of a username without passkeys is made (see
        # authentication_options), so the answer does not tell who has one.
        self._decoy = decoy
        self._record = record

    # -- helpers -------------------------------------------------------------------------
    def record(self, event: str, person_id: str | None, **details: Any) -> None:
        if self._record is None:
            return
        try:
            self._record(event, person_id, details)
        except Exception:
            # The audit log reports its own failures; a passkey operation that already
            # committed must not turn into an error page because of it.
            log.exception("audit record failed", extra={"fields": {"event": event}})

    def _state_key(self, ceremony: str, session_key: str, challenge: bytes) -> str:
        digest = hashlib.sha256(session_key.encode() + b"\x00" + challenge).hexdigest()
        return f"webauthn:{ceremony}:{digest}"

    def _remember(self, ceremony: str, session_key: str, challenge: bytes,
                  state: dict[str, Any]) -> None:
        self._store.put(self._state_key(ceremony, session_key, challenge),
                        json.dumps(state), self.rp.challenge_ttl)

    def _take(self, ceremony: str, session_key: str,
              credential: dict[str, Any]) -> tuple[bytes, dict[str, Any]]:
        """The challenge the response answers and what was remembered with it; the
        challenge is used up whatever happens next."""
        response = credential.get("response")
        if not isinstance(response, dict):
            raise VerificationFailed("passkey.invalid_response")
        try:
            client_data = parse_client_data_json(
                _b64url_decode(response.get("clientDataJSON")))
        except PasskeyError:
            raise
        except Exception:
            raise VerificationFailed("passkey.invalid_response") from None
        challenge = client_data.challenge
        if not isinstance(challenge, bytes) or not challenge:
            raise VerificationFailed("passkey.invalid_response")
        raw = self._store.take(self._state_key(ceremony, session_key, challenge))
        if raw is None:
            raise CeremonyExpired("passkey.expired")
        state: dict[str, Any] = json.loads(raw)
        return challenge, state

    @staticmethod
    def _person(session: Session, person_id: str) -> Person | None:
        person = session.get(Person, person_id)
        return person if person is not None and person.active else None

    @staticmethod
    def _user_handle(session: Session, person_id: str) -> str | None:
        return session.scalar(select(PasskeyCredential.user_handle)
                              .where(PasskeyCredential.person_id == person_id).limit(1))

    @staticmethod
    def _organisation_ids(session: Session, person_id: str) -> set[str]:
        """The person's organisations and all their ancestors (a bureau's rule covers
        its schools)."""
        found: set[str] = set()
        todo = list(session.scalars(select(Membership.organisation_id)
                                    .where(Membership.person_id == person_id)))
        while todo:
            org_id = todo.pop()
            if org_id in found:
                continue
            found.add(org_id)
            org = session.get(Organisation, org_id)
            if org is not None and org.parent_id:
                todo.append(org.parent_id)
        return found

    def attestation_for(self, person_id: str) -> tuple[str, list[str]]:
        """The attestation a person's registrations need: ``direct`` when any of their
        organisations (or an ancestor) requires it, with the union of trusted roots."""
        with self._sessions() as session:
            org_ids = self._organisation_ids(session, person_id)
            if not org_ids:
                return ATTESTATION_NONE, []
            policies = list(session.scalars(select(PasskeyOrgPolicy).where(
                PasskeyOrgPolicy.organisation_id.in_(org_ids),
                PasskeyOrgPolicy.attestation == ATTESTATION_DIRECT)))
        if not policies:
            return ATTESTATION_NONE, []
        roots = [pem for p in policies for pem in _split_pem(p.root_certificates or "")]
        return ATTESTATION_DIRECT, roots

    def set_org_attestation(self, organisation_id: str, attestation: str,
                            root_certificates: str | None = None) -> None:
        """Require ``attestation`` (``none`` or ``direct``) of passkeys registered by the
        organisation's people (and those of organisations below it); with
        ``root_certificates`` (PEM), direct attestation must chain to one of them."""
        if attestation not in ATTESTATIONS:
            raise PasskeyError("passkey.bad_attestation_setting")
        roots = _split_pem(root_certificates or "")
        if root_certificates and not roots:
            raise PasskeyError("passkey.bad_attestation_setting")
        with self._sessions.begin() as session:
            row = session.get(PasskeyOrgPolicy, organisation_id)
            if row is None:
                row = PasskeyOrgPolicy(organisation_id=organisation_id)
                session.add(row)
            row.attestation = attestation
            row.root_certificates = "".join(roots) or None
            row.updated_at = utcnow()

    # -- registration (WebAuthn 7.1) -----------------------------------------------------
    def registration_options(self, person_id: str, session_key: str) -> str:
        """``PublicKeyCredentialCreationOptions`` as JSON for a logged-in person."""
        attestation, _roots = self.attestation_for(person_id)
        with self._sessions() as session:
            person = self._person(session, person_id)
            if person is None:
                raise UnknownCredential("passkey.unknown_person")
            existing = list(session.scalars(select(PasskeyCredential).where(
                PasskeyCredential.person_id == person_id)))
            if len(existing) >= MAX_PASSKEYS:
                raise PasskeyError("passkey.too_many", limit=MAX_PASSKEYS)
            handle = existing[0].user_handle if existing else bytes_to_base64url(
                secrets.token_bytes(32))
            username, display_name = person.username, person.display_name
        challenge = secrets.token_bytes(32)
        options = generate_registration_options(
            rp_id=self.rp.rp_id, rp_name=self.rp.name, user_name=username,
            user_id=_b64url_decode(handle), user_display_name=display_name,
            challenge=challenge, timeout=self.rp.challenge_ttl * 1000,
            attestation=AttestationConveyancePreference(attestation),
            authenticator_selection=AuthenticatorSelectionCriteria(
                resident_key=ResidentKeyRequirement.REQUIRED,
                user_verification=UserVerificationRequirement.REQUIRED),
            exclude_credentials=[
                PublicKeyCredentialDescriptor(id=_b64url_decode(row.credential_id),
                                              transports=_transports(row.transports))
                for row in existing],
            supported_pub_key_algs=ALGORITHMS)
        self._remember(_REGISTER, session_key, challenge,
                       {"person": person_id, "handle": handle, "attestation": attestation})
        return options_to_json(options)

    def register(self, person_id: str, session_key: str, credential: dict[str, Any],
                 name: str) -> PasskeyInfo:
        """Verify the authenticator's answer to ``registration_options`` and store the
        new passkey under ``name``."""
        challenge, state = self._take(_REGISTER, session_key, credential)
        if state.get("person") != person_id:
            raise CeremonyExpired("passkey.expired")
        attestation, roots = self.attestation_for(person_id)
        if state.get("attestation") == ATTESTATION_DIRECT:
            attestation = ATTESTATION_DIRECT
        try:
            verified = verify_registration_response(
                credential=credential, expected_challenge=challenge,
                expected_rp_id=self.rp.rp_id, expected_origin=list(self.rp.origins),
                require_user_verification=True, supported_pub_key_algs=ALGORITHMS,
                pem_root_certs_bytes_by_fmt=(
                    {fmt: [pem.encode() for pem in roots] for fmt in AttestationFormat}
                    if roots else None))
        except _MALFORMED as exc:
            log.info("passkey registration refused", extra={"fields": {"reason": str(exc)}})
            raise VerificationFailed("passkey.invalid_response") from None
        if attestation == ATTESTATION_DIRECT:
            _check_direct_attestation(verified.fmt, verified.attestation_object, roots)
        transports = credential.get("response", {}).get("transports") or []
        if not isinstance(transports, list):
            transports = []
        now = utcnow()
        fallback = f"Passkey {now:%Y-%m-%d}"
        row = PasskeyCredential(
            person_id=person_id, credential_id=bytes_to_base64url(verified.credential_id),
            user_handle=str(state["handle"]), public_key=verified.credential_public_key,
            sign_count=verified.sign_count,
            transports=[t for t in transports if t in _TRANSPORTS][:8],
            aaguid=verified.aaguid,
            attestation_format=str(getattr(verified.fmt, "value", verified.fmt)),
            name=clean_passkey_name(name, fallback),
            backup_eligible=(verified.credential_device_type
                             == CredentialDeviceType.MULTI_DEVICE),
            backed_up=verified.credential_backed_up, created_at=now)
        try:
            with self._sessions.begin() as session:
                if self._person(session, person_id) is None:
                    raise UnknownCredential("passkey.unknown_person")
                session.add(row)
        except IntegrityError:
            raise PasskeyError("passkey.already_registered") from None
        info = _info(row)
        self.record("factor.added", person_id, factor="passkey", passkey=info.id,
                    aaguid=info.aaguid, format=info.attestation_format,
                    backup_eligible=info.backup_eligible)
        return info

    # -- authentication (WebAuthn 7.2) ---------------------------------------------------
    def _decoy_id(self, username: str) -> bytes:
        return hashlib.sha256(b"passkey-decoy\x00" + self._decoy(username).encode()).digest()

    def authentication_options(self, session_key: str, *, person_id: str | None = None,
                               username: str | None = None) -> str:
        """``PublicKeyCredentialRequestOptions`` as JSON. With ``person_id`` (a second
        factor after the password) or ``username`` (typed on the login page) only that
        person's passkeys are allowed; with neither the options are for a discoverable
        credential (username-less sign-in). An unknown username, or one with no passkey,
        gets a decoy credential id that depends only on the username, so the answer looks
        the same as for a person with one passkey."""
        allow: list[PublicKeyCredentialDescriptor] = []
        expected: str | None = None
        if person_id is not None or username:
            with self._sessions() as session:
                if person_id is None:
                    person = session.scalar(select(Person).where(
                        Person.username == (username or "").strip().lower()))
                    person_id = person.id if person is not None and person.active else None
                rows = [] if person_id is None else list(session.scalars(
                    select(PasskeyCredential).where(
                        PasskeyCredential.person_id == person_id,
                        PasskeyCredential.possibly_cloned.is_(False))
                    .order_by(PasskeyCredential.created_at)))
            # Without transports: they would tell a real credential from the decoy.
            allow = [PublicKeyCredentialDescriptor(id=_b64url_decode(row.credential_id))
                     for row in rows]
            if not allow:
                allow = [PublicKeyCredentialDescriptor(
                    id=self._decoy_id((username or person_id or "").strip().lower()))]
            # An unknown username expects a person who does not exist: always refused.
            expected = person_id or "-"
        challenge = secrets.token_bytes(32)
        options = generate_authentication_options(
            rp_id=self.rp.rp_id, challenge=challenge, timeout=self.rp.challenge_ttl * 1000,
            allow_credentials=allow,
            user_verification=UserVerificationRequirement.REQUIRED)
        self._remember(_AUTHENTICATE, session_key, challenge, {"person": expected})
        return options_to_json(options)

    def authenticate(self, session_key: str, credential: dict[str, Any]) -> PasskeyAssertion:
        """Verify an assertion answering ``authentication_options`` of this browser
        session; returns whose passkey it was."""
        challenge, state = self._take(_AUTHENTICATE, session_key, credential)
        credential_id = bytes_to_base64url(
            _b64url_decode(credential.get("rawId") or credential.get("id")))
        with self._sessions() as session:
            row = session.scalar(select(PasskeyCredential).where(
                PasskeyCredential.credential_id == credential_id))
            owner = self._person(session, row.person_id) if row is not None else None
            if row is None or owner is None:
                raise UnknownCredential("passkey.unknown_credential")
            session.expunge(row)
        expected = state.get("person")
        if expected is not None and expected != row.person_id:
            raise UnknownCredential("passkey.unknown_credential")
        response = credential.get("response")
        handle = response.get("userHandle") if isinstance(response, dict) else None
        if handle:
            if not hmac.compare_digest(str(handle).encode(), row.user_handle.encode()):
                raise UnknownCredential("passkey.unknown_credential")
        elif expected is None:
            # A discoverable credential must name its user (WebAuthn 7.2 step 6).
            raise VerificationFailed("passkey.invalid_response")
        if row.possibly_cloned:
            raise CounterRegression("passkey.cloned", person_id=row.person_id, detected=False)
        try:
            # Counter checked below, once the signature is known to be good.
            verified = verify_authentication_response(
                credential=credential, expected_challenge=challenge,
                expected_rp_id=self.rp.rp_id, expected_origin=list(self.rp.origins),
                credential_public_key=row.public_key, credential_current_sign_count=0,
                require_user_verification=True)
        except _MALFORMED as exc:
            log.info("passkey assertion refused", extra={"fields": {"reason": str(exc)}})
            raise VerificationFailed("passkey.invalid_response") from None
        stored, new = int(row.sign_count or 0), verified.new_sign_count
        if (new > 0 or stored > 0) and new <= stored:
            with self._sessions.begin() as session:
                flagged = session.get(PasskeyCredential, row.id)
                if flagged is not None:
                    flagged.possibly_cloned = True
            log.warning("passkey signature counter went backwards",
                        extra={"fields": {"passkey": row.id, "stored": stored, "new": new}})
            self.record("passkey.counter_regression", row.person_id, passkey=row.id,
                        stored=stored, received=new)
            raise CounterRegression("passkey.cloned", person_id=row.person_id, detected=True)
        with self._sessions.begin() as session:
            used = session.get(PasskeyCredential, row.id)
            if used is None:   # removed meanwhile
                raise UnknownCredential("passkey.unknown_credential")
            used.sign_count = new
            used.backed_up = verified.credential_backed_up
            used.last_used_at = utcnow()
        return PasskeyAssertion(row.person_id, row.id, verified.user_verified,
                                bool(row.backup_eligible))

    # -- management ----------------------------------------------------------------------
    def passkeys_of(self, person_id: str) -> list[PasskeyInfo]:
        with self._sessions() as session:
            rows = session.scalars(select(PasskeyCredential)
                                   .where(PasskeyCredential.person_id == person_id)
                                   .order_by(PasskeyCredential.created_at))
            return [_info(row) for row in rows]

    def count(self, person_id: str, *, usable_only: bool = True) -> int:
        return sum(1 for p in self.passkeys_of(person_id)
                   if not (usable_only and p.possibly_cloned))

    def rename(self, person_id: str, passkey_id: str, name: str) -> bool:
        with self._sessions.begin() as session:
            row = session.get(PasskeyCredential, passkey_id)
            if row is None or row.person_id != person_id:
                return False
            row.name = clean_passkey_name(name, row.name)
            return True

    def remove(self, person_id: str, passkey_id: str) -> bool:
        """Delete one of the person's passkeys; ``False`` if they have no such passkey."""
        with self._sessions.begin() as session:
            gone = session.execute(delete(PasskeyCredential).where(
                PasskeyCredential.id == passkey_id, PasskeyCredential.person_id == person_id))
        if getattr(gone, "rowcount", 0) != 1:
            return False
        self.record("factor.removed", person_id, factor="passkey", passkey=passkey_id)
        return True


def _transports(values: list[str] | None) -> list[AuthenticatorTransport] | None:
    found = [AuthenticatorTransport(v) for v in values or () if v in _TRANSPORTS]
    return found or None


def _split_pem(bundle: str) -> list[str]:
    marker_start, marker_end = "-----BEGIN CERTIFICATE-----", "-----END CERTIFICATE-----"
    found: list[str] = []
    rest = bundle
    while marker_start in rest and marker_end in rest:
        start = rest.index(marker_start)
        end = rest.index(marker_end, start) + len(marker_end)
        found.append(rest[start:end] + "\n")
        rest = rest[end:]
    return found


def _check_direct_attestation(fmt: AttestationFormat, attestation_object: bytes,
                              roots: list[str]) -> None:
    """What ``direct`` adds to py_webauthn's verification of the statement: there must
    be a statement, and with trusted roots configured it must come from a certificate
    chain (which py_webauthn has then validated against those roots), not be a
    self-attestation."""
    if fmt == AttestationFormat.NONE:
        raise VerificationFailed("passkey.attestation_required")
    if roots:
        from webauthn.helpers import parse_attestation_object

        statement = parse_attestation_object(attestation_object).att_stmt
        if not statement.x5c:
            raise VerificationFailed("passkey.attestation_untrusted")
