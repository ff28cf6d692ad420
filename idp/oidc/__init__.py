"""OpenID Connect on top of the OAuth 2.0 server: pairwise subject identifiers, ID
tokens (SM2, ES256 or RS256 per client), UserInfo and the discovery document."""
