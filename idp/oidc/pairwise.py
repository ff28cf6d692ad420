"""Pairwise subject identifiers (OIDC Core 8.1): the ``sub`` a relying party sees is
HMAC-SM3 of the person id under a platform secret and the client's sector, so two
platforms cannot link a student by comparing identifiers. Clients registered as
``public`` see the directory id itself."""

from __future__ import annotations

from crypto.jose import b64url_encode
from idp.oauth2.clients import RegisteredClient
from idp.oauth2.platform_secrets import PlatformSecrets


class PairwiseSubjects:
    def __init__(self, platform_secrets: PlatformSecrets) -> None:
        self._secrets = platform_secrets

    def subject(self, client: RegisteredClient, person_id: str) -> str:
        if client.subject_type == "public":
            return person_id
        return b64url_encode(self._secrets.pairwise_tag(client.sector_identifier, person_id))
