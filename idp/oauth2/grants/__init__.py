"""The grant types the provider supports, each Authlib's grant with our storage and
policies: ``authorization_code`` (with PKCE and OpenID Connect), ``refresh_token``
(rotating), ``client_credentials``."""
