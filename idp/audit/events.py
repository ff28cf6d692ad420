"""Names of the audited authentication events. New events may be added anywhere (a
name is lowercase words joined by dots), but reuse these where they fit so reports and
alerts can count them."""

from __future__ import annotations

LOGIN_SUCCEEDED = "login.succeeded"          # first factor (or the whole login) passed
LOGIN_FAILED = "login.failed"                # details: {"reason": ...}
LOGOUT = "logout"
ACCOUNT_LOCKED = "account.locked"            # throttling locked the account for a while
MFA_SUCCEEDED = "mfa.succeeded"              # details: {"method": "otp" | "hwk" | ...}
MFA_FAILED = "mfa.failed"
FACTOR_ADDED = "factor.added"                # details: {"factor": "totp" | "passkey", ...}
FACTOR_REMOVED = "factor.removed"
RECOVERY_CODE_USED = "recovery_code.used"
RECOVERY_CODES_REGENERATED = "recovery_codes.regenerated"
CONSENT_GIVEN = "consent.given"              # a person's own consent to a client
CONSENT_WITHDRAWN = "consent.withdrawn"
CONSENT_DENIED = "consent.denied"           # the person declined on the consent page
GUARDIAN_CONSENT_REQUESTED = "guardian_consent.requested"   # person = the minor
GUARDIAN_CONSENT_GIVEN = "guardian_consent.given"           # details: {"guardian": id}
GUARDIAN_CONSENT_REFUSED = "guardian_consent.refused"
GUARDIAN_CONSENT_WITHDRAWN = "guardian_consent.withdrawn"
PASSWORD_RESET_ISSUED = "password_reset.issued"  # noqa: S105  details: {"by": admin id}
PASSWORD_RESET_COMPLETED = "password_reset.completed"  # noqa: S105
