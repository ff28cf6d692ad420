// The peer of bench/idp.py: node-oidc-provider (npm `oidc-provider`, pinned in
// package.json), configured as the issue asks: client_credentials, ES256 JWT access
// tokens through a resource indicator (features.resourceIndicators with
// accessTokenFormat 'jwt'), the built-in in-memory adapter, and devInteractions for
// the login flow (its built-in login form; it checks no password).
//
//   node bench/oidc_provider_peer.mjs PORT WORKERS CONFIG.json
//
// CONFIG.json: {"issuer", "client": {client_id, client_secret}, "login_client":
// {client_id, client_secret, redirect_uri}, "resource"}. WORKERS > 1 forks that many
// processes with node:cluster sharing the port (client_credentials needs no shared
// state: JWT access tokens are not stored); logins need 1 (interactions live in one
// process's memory). Prints "ready" on stdout once every worker listens.
import cluster from 'node:cluster';
import { generateKeyPairSync } from 'node:crypto';
import { readFileSync } from 'node:fs';

import Provider from 'oidc-provider';

const [port, workers, configPath] = process.argv.slice(2);
const settings = JSON.parse(readFileSync(configPath, 'utf8'));
const count = Number(workers);

if (cluster.isPrimary && count > 1) {
  let listening = 0;
  for (let i = 0; i < count; i += 1) cluster.fork();
  cluster.on('listening', () => {
    listening += 1;
    if (listening === count) console.log('ready');
  });
  cluster.on('exit', (worker, code) => {
    if (code !== 0) { console.error(`worker exited with ${code}`); process.exit(1); }
  });
  const stop = () => { for (const w of Object.values(cluster.workers)) w.kill(); process.exit(0); };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
} else {
  // Every worker derives the same keys from nothing shared, so each generates its own:
  // tokens are verified by nobody here, only issued.
  const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ format: 'jwk' });
  const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ format: 'jwk' });
  const { resource } = settings;
  const provider = new Provider(settings.issuer, {
    clients: [
      { ...settings.client, grant_types: ['client_credentials'], response_types: [],
        redirect_uris: [], token_endpoint_auth_method: 'client_secret_basic' },
      { client_id: settings.login_client.client_id,
        client_secret: settings.login_client.client_secret,
        redirect_uris: [settings.login_client.redirect_uri],
        grant_types: ['authorization_code'], response_types: ['code'],
        token_endpoint_auth_method: 'client_secret_basic' },
    ],
    jwks: { keys: [{ ...ec, alg: 'ES256', use: 'sig', kid: 'es256' },
                   { ...rsa, alg: 'RS256', use: 'sig', kid: 'rs256' }] },
    features: {
      clientCredentials: { enabled: true },
      devInteractions: { enabled: true },
      resourceIndicators: {
        enabled: true,
        defaultResource: () => resource,
        useGrantedResource: () => true,
        getResourceServerInfo: () => ({
          scope: 'api',
          audience: resource,
          accessTokenTTL: 15 * 60,
          accessTokenFormat: 'jwt',
          jwt: { sign: { alg: 'ES256' } },
        }),
      },
    },
    // The login client is first-party: no consent screen (as ours with first_party).
    async loadExistingGrant(ctx) {
      const { oidc } = ctx;
      const grantId = oidc.result?.consent?.grantId
        || oidc.session.grantIdFor(oidc.client.clientId);
      if (grantId) return oidc.provider.Grant.find(grantId);
      const grant = new oidc.provider.Grant({ clientId: oidc.client.clientId,
                                              accountId: oidc.session.accountId });
      grant.addOIDCScope('openid');
      grant.addResourceScope(resource, 'api');
      oidc.session.grantIdFor(oidc.client.clientId, await grant.save());
      return grant;
    },
    pkce: { required: () => true },
  });
  provider.proxy = false;
  // Errors are answered to the client; printing each one would only slow the run.
  provider.on('server_error', (_ctx, err) => console.error(err));
  const server = provider.listen(Number(port), '127.0.0.1', () => {
    if (!cluster.isWorker) console.log('ready');
  });
  server.keepAliveTimeout = 5000;
}
