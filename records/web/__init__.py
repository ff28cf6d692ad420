"""Flask glue of the records package: the REST API under ``/api/v1`` (records.web.api),
who may call it (records.web.access) and its OpenAPI 3.1 description with a readable
docs page (records.web.openapi). The composition root hands in every dependency."""

from records.web.access import CLIENT_ROLE, Caller, Membership
from records.web.api import records_api_blueprint
from records.web.openapi import openapi_blueprint

__all__ = ["CLIENT_ROLE", "Caller", "Membership", "openapi_blueprint",
           "records_api_blueprint"]
