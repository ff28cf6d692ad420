// A relying party built on the certified library openid-client (v6), run by
// tests/idp/provider/test_openid_client.py against the live EduTrust server.
//
// Usage: node openid_client_rp.mjs '<json>'  where the JSON object has
//   step:    "authorize" | "complete" | "par_authorize" | "par_complete"
//   issuer, client_id, client_secret, redirect_uri, id_token_alg, scope
//   and for "complete" / "par_complete": callback_url, code_verifier, state, nonce;
//   for "par_complete" also post_logout_redirect_uri.
// "authorize" prints {authorization_url, code_verifier, state, nonce}; the Python test
// plays the browser (login and consent) and calls "complete" with the URL the provider
// redirected to. "complete" runs the code grant (openid-client checks iss per RFC 9207,
// state, nonce, PKCE, and with non-repudiation checks the ID token signature), the
// refresh grant, UserInfo, introspection, revocation and the client credentials grant,
// and prints what it saw as one JSON object. "par_authorize" pushes the authorization
// request (RFC 9126) and prints the short authorization URL; "par_complete" redeems the
// code, refreshes (openid-client validates the new ID token the refresh returns, OIDC
// Core 12.2) and builds the RP-Initiated Logout URL with the refreshed ID token as
// id_token_hint, which the Python test then follows in the browser. Any failure exits
// non-zero with the error (name, code, message) as JSON on stderr.
//
// The issuer is plain http on loopback, so allowInsecureRequests is enabled; that is
// the only reason it is used.

import * as client from 'openid-client';

let stage = 'start';  // named in the error report, so a failure says where it happened

async function configure(args) {
  return client.discovery(
    new URL(args.issuer),
    args.client_id,
    { client_secret: args.client_secret, id_token_signed_response_alg: args.id_token_alg },
    client.ClientSecretBasic(args.client_secret),
    { execute: [client.allowInsecureRequests], timeout: 20 },
  );
}

async function authorize(args) {
  const config = await configure(args);
  const codeVerifier = client.randomPKCECodeVerifier();
  const state = client.randomState();
  const nonce = client.randomNonce();
  const url = client.buildAuthorizationUrl(config, {
    redirect_uri: args.redirect_uri,
    scope: args.scope,
    code_challenge: await client.calculatePKCECodeChallenge(codeVerifier),
    code_challenge_method: 'S256',
    state,
    nonce,
  });
  return { authorization_url: url.href, code_verifier: codeVerifier, state, nonce };
}

async function expectFailure(promise) {
  try {
    await promise;
  } catch (error) {
    return { name: error.name, code: error.code ?? null, error: error.error ?? null };
  }
  return null;
}

async function complete(args) {
  const config = await configure(args);
  client.enableNonRepudiationChecks(config);
  const callback = new URL(args.callback_url);

  // A wrong state must be refused before any code is spent.
  const wrongState = await expectFailure(client.authorizationCodeGrant(config, callback, {
    pkceCodeVerifier: args.code_verifier, expectedState: 'not-the-state',
    expectedNonce: args.nonce, idTokenExpected: true,
  }));

  stage = 'authorization code grant';
  const tokens = await client.authorizationCodeGrant(config, callback, {
    pkceCodeVerifier: args.code_verifier,
    expectedState: args.state,
    expectedNonce: args.nonce,
    idTokenExpected: true,
  });
  const claims = tokens.claims();
  const header = JSON.parse(Buffer.from(tokens.id_token.split('.')[0], 'base64url'));

  stage = 'refresh token grant';
  const refreshed = await client.refreshTokenGrant(config, tokens.refresh_token);

  stage = 'userinfo and introspection';
  const userinfo = await client.fetchUserInfo(config, refreshed.access_token, claims.sub);
  const active = await client.tokenIntrospection(config, refreshed.access_token);

  // Presenting the retired refresh token again revokes the whole token family.
  stage = 'refresh token reuse';
  const oldRefresh = await expectFailure(client.refreshTokenGrant(config, tokens.refresh_token));
  const afterReuse = await client.tokenIntrospection(config, refreshed.access_token);
  const refreshAfterReuse = await client.tokenIntrospection(config, refreshed.refresh_token,
                                                            { token_type_hint: 'refresh_token' });

  stage = 'client credentials grant and revocation';
  const service = await client.clientCredentialsGrant(config, { scope: 'profile' });
  const serviceIntrospection = await client.tokenIntrospection(config, service.access_token);
  await client.tokenRevocation(config, service.access_token,
                               { token_type_hint: 'access_token' });
  const afterRevocation = await client.tokenIntrospection(config, service.access_token);

  // The code is single use (last: a replayed code revokes what it was exchanged for).
  stage = 'code replay';
  const replay = await expectFailure(client.authorizationCodeGrant(config, callback, {
    pkceCodeVerifier: args.code_verifier, expectedState: args.state,
    expectedNonce: args.nonce, idTokenExpected: true,
  }));

  return {
    wrong_state: wrongState,
    id_token_header: header,
    id_token_claims: claims,
    token_type: tokens.token_type,
    scope: tokens.scope ?? null,
    code_replay: replay,
    refresh_rotated: refreshed.refresh_token !== tokens.refresh_token,
    access_renewed: refreshed.access_token !== tokens.access_token,
    old_refresh_token: oldRefresh,
    userinfo,
    introspection: active,
    access_after_reuse: afterReuse,
    refresh_after_reuse: refreshAfterReuse,
    client_credentials: {
      token_type: service.token_type,
      has_refresh_token: service.refresh_token !== undefined,
      introspection: serviceIntrospection,
      introspection_after_revocation: afterRevocation,
    },
  };
}

async function parAuthorize(args) {
  const config = await configure(args);
  const codeVerifier = client.randomPKCECodeVerifier();
  const state = client.randomState();
  const nonce = client.randomNonce();
  stage = 'pushed authorization request';
  const url = await client.buildAuthorizationUrlWithPAR(config, {
    redirect_uri: args.redirect_uri,
    scope: args.scope,
    code_challenge: await client.calculatePKCECodeChallenge(codeVerifier),
    code_challenge_method: 'S256',
    state,
    nonce,
  });
  return { authorization_url: url.href, code_verifier: codeVerifier, state, nonce };
}

async function parComplete(args) {
  const config = await configure(args);
  client.enableNonRepudiationChecks(config);
  stage = 'authorization code grant after PAR';
  const tokens = await client.authorizationCodeGrant(config, new URL(args.callback_url), {
    pkceCodeVerifier: args.code_verifier,
    expectedState: args.state,
    expectedNonce: args.nonce,
    idTokenExpected: true,
  });
  stage = 'refresh token grant with an ID token';
  const refreshed = await client.refreshTokenGrant(config, tokens.refresh_token);
  stage = 'end session URL';
  const logoutState = client.randomState();
  const endSession = client.buildEndSessionUrl(config, {
    id_token_hint: refreshed.id_token,
    post_logout_redirect_uri: args.post_logout_redirect_uri,
    state: logoutState,
  });
  return {
    id_token_claims: tokens.claims(),
    refresh_id_token_claims: refreshed.id_token ? refreshed.claims() : null,
    end_session_url: endSession.href,
    logout_state: logoutState,
  };
}

const args = JSON.parse(process.argv[2]);
const steps = {
  authorize, complete, par_authorize: parAuthorize, par_complete: parComplete,
};
try {
  const result = await steps[args.step](args);
  process.stdout.write(JSON.stringify(result) + '\n');
} catch (error) {
  process.stderr.write(JSON.stringify({
    stage, name: error.name, code: error.code ?? null, message: error.message,
    error: error.error ?? null, error_description: error.error_description ?? null,
  }) + '\n');
  process.exitCode = 1;
}
