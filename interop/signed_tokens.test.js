// Verifies devauth's JWT access tokens (RFC 9068) and ID tokens with the jose library against
// the published JWKS, for both signing algorithms and across a key rotation made with
// `devauth keys rotate` while the server runs.
//
// DEVAUTH_BINARY names the binary; the default is ../build/devauth.

import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

import * as jose from 'jose';

const here = fileURLToPath(new URL('.', import.meta.url));
const binary = process.env.DEVAUTH_BINARY ?? resolve(here, '../build/devauth');

const servers = [];

function freePort() {
  return new Promise((resolvePort, reject) => {
    const probe = createServer();
    probe.on('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address();
      probe.close(() => resolvePort(port));
    });
  });
}

async function waitForHealthy(url) {
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline) {
    try {
      if ((await fetch(`${url}/healthz`)).ok) return;
    } catch {
      // Not listening yet.
    }
    await new Promise((wake) => setTimeout(wake, 50));
  }
  throw new Error(`devauth serve did not become healthy at ${url}`);
}

// Starts `devauth serve` on a new SQLite store with a JWT client, an OpenID client and the
// approving backend `bank`.
async function startServer(extraArgs) {
  const directory = mkdtempSync(join(tmpdir(), 'devauth-jose-'));
  const store = join(directory, 'devauth.db');
  const run = (args) => execFileSync(binary, [...args, '--store', store], { encoding: 'utf8' }).trim();
  run(['client', 'add', 'jwt1', '--scopes', 'openid read', '--default-scopes', 'read',
    '--access-token-format', 'jwt', '--token-ttl', '600']);
  const approverSecret = run(['client', 'add', 'bank', '--confidential', '--may-approve']);

  const port = await freePort();
  const issuer = `http://127.0.0.1:${port}`;
  const process_ = spawn(
    binary,
    ['serve', '--port', String(port), '--store', store, '--interval', '1', '--threads', '2',
      '--log-level', 'warn', ...extraArgs],
    { stdio: ['ignore', 'ignore', 'inherit'] },
  );
  servers.push({ process: process_, directory });
  await waitForHealthy(issuer);
  return { issuer, approverSecret, run };
}

after(() => {
  for (const { process: process_, directory } of servers) {
    process_.kill('SIGTERM');
    rmSync(directory, { recursive: true, force: true });
  }
});

// Runs the device flow for jwt1, approved through the approval API, and returns the token
// response.
async function issueTokens(server, scope) {
  const form = (fields) => ({
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams(fields),
  });
  const begun = await fetch(`${server.issuer}/oauth/device/begin`,
    form({ client_id: 'jwt1', ...(scope ? { scope } : {}) }));
  assert.equal(begun.status, 200);
  const { device_code: deviceCode, user_code: userCode } = await begun.json();

  const approval = form({ user_code: userCode, subject: 'customer-7' });
  approval.headers.authorization =
    `Basic ${Buffer.from(`bank:${server.approverSecret}`).toString('base64')}`;
  const approved = await fetch(`${server.issuer}/oauth/device/approve`, approval);
  assert.equal(approved.status, 200, await approved.text());

  const token = await fetch(`${server.issuer}/oauth/device/token`, form({
    grant_type: 'urn:ietf:params:oauth:grant-type:device_code',
    device_code: deviceCode,
    client_id: 'jwt1',
  }));
  assert.equal(token.status, 200);
  return token.json();
}

// The key set named by the metadata's jwks_uri. jose fetches it again when it meets an unknown
// kid, but by default not within 30 s of the last fetch; the test rotates sooner than that.
async function remoteKeySet(issuer) {
  const metadata = await (await fetch(`${issuer}/.well-known/oauth-authorization-server`)).json();
  assert.equal(metadata.jwks_uri, `${issuer}/oauth/jwks`);
  return jose.createRemoteJWKSet(new URL(metadata.jwks_uri), { cooldownDuration: 0 });
}

async function verifyAccessToken(server, keys, token, algorithm) {
  const { payload, protectedHeader } = await jose.jwtVerify(token, keys, {
    issuer: server.issuer,
    audience: server.issuer,
    typ: 'at+jwt',
    algorithms: [algorithm],
  });
  assert.equal(protectedHeader.alg, algorithm);
  assert.equal(payload.client_id, 'jwt1');
  assert.equal(payload.sub, 'customer-7');
  assert.equal(payload.exp - payload.iat, 600);
  assert.match(payload.jti, /^[A-Za-z0-9_-]{43}$/);
  return { payload, protectedHeader };
}

test('jose verifies ES256 access tokens and ID tokens across a key rotation', async () => {
  const server = await startServer([]);
  const keys = await remoteKeySet(server.issuer);

  const first = await issueTokens(server, 'openid read');
  const { payload, protectedHeader } =
    await verifyAccessToken(server, keys, first.access_token, 'ES256');
  assert.equal(payload.scope, 'openid read');

  const idToken = await jose.jwtVerify(first.id_token, keys, {
    issuer: server.issuer,
    audience: 'jwt1',
    algorithms: ['ES256'],
  });
  assert.equal(idToken.payload.sub, 'customer-7');
  assert.ok(idToken.payload.auth_time <= idToken.payload.iat);
  assert.equal(idToken.protectedHeader.kid, protectedHeader.kid);

  // The ID token is no access token: RFC 9068 §4 requires typ at+jwt.
  await assert.rejects(
    jose.jwtVerify(first.id_token, keys, { typ: 'at+jwt', algorithms: ['ES256'] }),
    (error) => error.code === 'ERR_JWT_CLAIM_VALIDATION_FAILED',
  );

  // A rotation through the CLI on the shared store: the next token has the new kid, and the
  // token signed before it still verifies with the same key set.
  const newKid = server.run(['keys', 'rotate']);
  const second = await issueTokens(server);
  const rotated = await verifyAccessToken(server, keys, second.access_token, 'ES256');
  assert.equal(rotated.protectedHeader.kid, newKid);
  assert.notEqual(newKid, protectedHeader.kid);
  assert.equal(rotated.payload.scope, 'read');
  await verifyAccessToken(server, keys, first.access_token, 'ES256');

  const jwks = await (await fetch(`${server.issuer}/oauth/jwks`)).json();
  assert.deepEqual(jwks.keys.map((key) => key.kid).sort(), [protectedHeader.kid, newKid].sort());
});

test('jose verifies EdDSA access tokens and rejects a changed signature', async () => {
  const server = await startServer(['--signing-algorithm', 'EdDSA']);
  const keys = await remoteKeySet(server.issuer);
  const { access_token: token } = await issueTokens(server);
  const { protectedHeader } = await verifyAccessToken(server, keys, token, 'EdDSA');
  assert.equal(protectedHeader.typ, 'at+jwt');

  const [header, payload, signature] = token.split('.');
  const bytes = Buffer.from(signature, 'base64url');
  bytes[0] ^= 1;
  await assert.rejects(
    jose.jwtVerify(`${header}.${payload}.${bytes.toString('base64url')}`, keys),
    (error) => error.code === 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED',
  );
});
