// server.mjs: a test-only OAuth 2.0 authorization server for ztkit's client-side tests,
// built on the npm package oidc-provider (panva/node-oidc-provider, OpenID Certified),
// so that the clients in tokens/grant are tested against an authorization server that is
// not ztkit. scripts/test installs it (npm ci, version pinned in package-lock.json) and
// starts it; it is never part of the library.
//
// It serves, over HTTPS on 127.0.0.1:
//   - the client_credentials grant (RFC 6749 §4.4);
//   - DPoP (RFC 9449) required for every client, with server nonces required: a proof
//     without the current nonce is answered 400 use_dpop_nonce with a DPoP-Nonce header;
//   - JWT access tokens (RFC 9068, typ at+jwt, ES256) for the resource indicators
//     (RFC 8707) https://payments.test (5 min) and https://short.payments.test (10 s,
//     for refresh tests); without a resource parameter the token is for https://payments.test;
//   - three clients: one authenticating with private_key_jwt (RFC 7523, ES256), one with
//     client_secret_basic, and one with tls_client_auth (RFC 8705 §2.1.2: a certificate
//     from the test's client CA whose URI SAN is the registered one, a SPIFFE ID). Its
//     tokens are DPoP-bound like the others': oidc-provider lets a client require only one
//     proof-of-possession mechanism, so none is certificate-bound (RFC 8705 §3).
//
// Every key and secret is made at start and lives only as long as the process:
//   OIDCOP_DIR       directory this program writes into (mode 0700 recommended):
//                    client-key.jwk   the private_key_jwt client's private key (a JWK)
//                    env              shell exports of ZTKIT_TEST_OIDC_* (written last,
//                                     atomically: its presence means the server is ready)
//   OIDCOP_TLS_CERT  PEM certificate for 127.0.0.1 (its own CA: tests trust this file)
//   OIDCOP_TLS_KEY   PEM private key of that certificate
//   OIDCOP_MTLS_CA   PEM certificate of the CA that issues tls_client_auth client certificates
//   OIDCOP_MTLS_CERT the tls_client_auth client's certificate (PEM); its first URI SAN is
//                    registered as the client's tls_client_auth_san_uri
//   OIDCOP_MTLS_KEY  that certificate's private key (PEM): only passed on to the tests
//   OIDCOP_PORT      port to listen on; 0 or unset: any free port
import { generateKeyPairSync, randomBytes, randomUUID, X509Certificate } from 'node:crypto';
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:https';
import { join } from 'node:path';

import Provider, { errors } from 'oidc-provider';

const dir = mustEnv('OIDCOP_DIR');
const tlsCert = mustEnv('OIDCOP_TLS_CERT');
const tlsKey = mustEnv('OIDCOP_TLS_KEY');
const mtlsCA = mustEnv('OIDCOP_MTLS_CA');
const mtlsCert = mustEnv('OIDCOP_MTLS_CERT');
const mtlsKey = mustEnv('OIDCOP_MTLS_KEY');
const port = Number(process.env.OIDCOP_PORT || 0);

const RESOURCE = 'https://payments.test';
const SHORT_RESOURCE = 'https://short.payments.test';
const SCOPES = 'payments:charge payments:read';
const PKJWT_CLIENT = 'ztkit-pkjwt';
const BASIC_CLIENT = 'ztkit-basic';
const MTLS_CLIENT = 'ztkit-mtls';

function mustEnv(name) {
  const v = process.env[name];
  if (!v) {
    console.error(`oidcop: ${name} is not set`);
    process.exit(2);
  }
  return v;
}

// ecJWK makes a P-256 key pair as JWKs with a kid.
function ecJWK() {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const kid = randomUUID();
  return {
    priv: { ...privateKey.export({ format: 'jwk' }), kid, alg: 'ES256', use: 'sig' },
    pub: { ...publicKey.export({ format: 'jwk' }), kid, alg: 'ES256', use: 'sig' },
  };
}

const signing = ecJWK(); // the server's token signing key
const client = ecJWK(); // the private_key_jwt client's key
const basicSecret = randomBytes(32).toString('base64url');

// uriSANs lists the URI subject alternative names of an X509Certificate.
function uriSANs(cert) {
  return (cert?.subjectAltName ?? '').split(', ')
    .filter((n) => n.startsWith('URI:')).map((n) => n.slice(4));
}

const mtlsURI = uriSANs(new X509Certificate(readFileSync(mtlsCert)))[0];
if (!mtlsURI) {
  console.error(`oidcop: ${mtlsCert} has no URI SAN`);
  process.exit(2);
}

const resourceServers = {
  [RESOURCE]: { ttl: 300 },
  [SHORT_RESOURCE]: { ttl: 10 },
};

const server = createServer({
  cert: readFileSync(tlsCert),
  key: readFileSync(tlsKey),
  // Client certificates are asked for, verified against the client CA, and never
  // required by TLS: oidc-provider decides (features.mTLS below).
  requestCert: true,
  rejectUnauthorized: false,
  ca: readFileSync(mtlsCA),
});

server.listen(port, '127.0.0.1', () => {
  const issuer = `https://127.0.0.1:${server.address().port}`;
  const clientDefaults = {
    grant_types: ['client_credentials'],
    response_types: [],
    redirect_uris: [],
    scope: SCOPES,
    // The server has one signing key, ES256 (the default, RS256, has none).
    id_token_signed_response_alg: 'ES256',
    // DPoP-bound tokens only (RFC 9449 §5.2): a token request without a proof is refused.
    dpop_bound_access_tokens: true,
  };
  const provider = new Provider(issuer, {
    clients: [
      {
        ...clientDefaults,
        client_id: PKJWT_CLIENT,
        token_endpoint_auth_method: 'private_key_jwt',
        token_endpoint_auth_signing_alg: 'ES256',
        jwks: { keys: [client.pub] },
      },
      {
        ...clientDefaults,
        client_id: BASIC_CLIENT,
        client_secret: basicSecret,
        token_endpoint_auth_method: 'client_secret_basic',
      },
      {
        ...clientDefaults,
        client_id: MTLS_CLIENT,
        token_endpoint_auth_method: 'tls_client_auth',
        tls_client_auth_san_uri: mtlsURI,
      },
    ],
    jwks: { keys: [signing.priv] },
    cookies: { keys: [randomBytes(32).toString('base64url')] },
    scopes: SCOPES.split(' '),
    clientAuthMethods: ['private_key_jwt', 'client_secret_basic', 'tls_client_auth'],
    features: {
      devInteractions: { enabled: false },
      clientCredentials: { enabled: true },
      introspection: { enabled: true },
      mTLS: {
        enabled: true,
        tlsClientAuth: true,
        certificateBoundAccessTokens: true,
        getCertificate: (ctx) => ctx.socket.getPeerX509Certificate?.() || undefined,
        certificateAuthorized: (ctx) => ctx.socket.authorized === true,
        certificateSubjectMatches: (ctx, property, expected) => property === 'tls_client_auth_san_uri'
          && uriSANs(ctx.socket.getPeerX509Certificate?.()).includes(expected),
      },
      dPoP: {
        enabled: true,
        nonceSecret: randomBytes(32),
        requireNonce: () => true,
      },
      resourceIndicators: {
        enabled: true,
        defaultResource: (_ctx, _client, oneOf) => oneOf ?? RESOURCE,
        useGrantedResource: () => true,
        getResourceServerInfo: (_ctx, indicator) => {
          const rs = resourceServers[indicator];
          if (!rs) throw new errors.InvalidTarget();
          return {
            audience: indicator,
            scope: SCOPES,
            accessTokenTTL: rs.ttl,
            accessTokenFormat: 'jwt',
            jwt: { sign: { alg: 'ES256' } },
          };
        },
      },
    },
  });
  provider.on('server_error', (_ctx, err) => console.error('oidcop: server_error', err));
  server.on('request', provider.callback());

  const keyFile = join(dir, 'client-key.jwk');
  writeFileSync(keyFile, JSON.stringify(client.priv) + '\n', { mode: 0o600 });
  const q = (v) => `'${String(v).replaceAll("'", "'\\''")}'`;
  const env = [
    ['ZTKIT_TEST_OIDC_ISSUER', issuer],
    ['ZTKIT_TEST_OIDC_TOKEN_ENDPOINT', `${issuer}/token`],
    ['ZTKIT_TEST_OIDC_CACERT', tlsCert],
    ['ZTKIT_TEST_OIDC_RESOURCE', RESOURCE],
    ['ZTKIT_TEST_OIDC_SHORT_RESOURCE', SHORT_RESOURCE],
    ['ZTKIT_TEST_OIDC_PKJWT_CLIENT_ID', PKJWT_CLIENT],
    ['ZTKIT_TEST_OIDC_PKJWT_KEY', keyFile],
    ['ZTKIT_TEST_OIDC_BASIC_CLIENT_ID', BASIC_CLIENT],
    ['ZTKIT_TEST_OIDC_BASIC_CLIENT_SECRET', basicSecret],
    ['ZTKIT_TEST_OIDC_MTLS_CLIENT_ID', MTLS_CLIENT],
    ['ZTKIT_TEST_OIDC_MTLS_CERT', mtlsCert],
    ['ZTKIT_TEST_OIDC_MTLS_KEY', mtlsKey],
  ].map(([k, v]) => `export ${k}=${q(v)}\n`).join('');
  const envFile = join(dir, 'env');
  writeFileSync(`${envFile}.tmp`, env, { mode: 0o600 });
  renameSync(`${envFile}.tmp`, envFile);
  console.log(`oidcop: oidc-provider listening, issuer ${issuer}`);
});

server.on('error', (err) => {
  console.error('oidcop:', err.message);
  process.exit(1);
});

for (const sig of ['SIGTERM', 'SIGINT']) {
  process.on(sig, () => {
    server.close();
    server.closeAllConnections();
    process.exit(0);
  });
}
