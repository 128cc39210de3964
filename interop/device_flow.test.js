// Runs the whole device flow against a real `devauth serve` with two stock client libraries:
// discovery from the RFC 8414 metadata, the device authorization request, polling with the
// library's own handling of authorization_pending, approval, and the token response.
//
// DEVAUTH_BINARY names the binary; the default is ../build/devauth.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

import * as client from 'openid-client';
import * as oauth from 'oauth4webapi';

const here = fileURLToPath(new URL('.', import.meta.url));
const binary = process.env.DEVAUTH_BINARY ?? resolve(here, '../build/devauth');
const password = 'correct horse battery staple';

let directory;
let server;
let issuer;
let confidentialSecret;
let approverSecret;

function devauth(args, input) {
  const store = join(directory, 'devauth.db');
  return execFileSync(binary, [...args, '--store', store], { input, encoding: 'utf8' }).trim();
}

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

// Approves through the approval API as the trusted backend `bank`.
async function approveWithApi(userCode) {
  const response = await fetch(`${issuer}/oauth/device/approve`, {
    method: 'POST',
    headers: {
      authorization: `Basic ${Buffer.from(`bank:${approverSecret}`).toString('base64')}`,
      'content-type': 'application/x-www-form-urlencoded',
    },
    body: new URLSearchParams({ user_code: userCode, subject: 'customer-1' }),
  });
  assert.equal(response.status, 200, await response.text());
}

// Approves through the verification pages as u1: the session cookie and the CSRF token of
// each form are carried forward, as a browser does.
async function approveWithPages(userCode) {
  let cookie = '';
  let csrf = '';
  const remember = async (response) => {
    const setCookie = response.headers.get('set-cookie');
    const match = setCookie && /devauth_session=([^;]+)/.exec(setCookie);
    if (match) cookie = match[1];
    const html = await response.text();
    const token = /name="csrf_token" value="([^"]+)"/.exec(html);
    if (token) csrf = token[1];
    return { status: response.status, html };
  };
  const submit = (path, fields) =>
    fetch(`${issuer}${path}`, {
      method: 'POST',
      headers: {
        cookie: `devauth_session=${cookie}`,
        'content-type': 'application/x-www-form-urlencoded',
      },
      body: new URLSearchParams({ ...fields, csrf_token: csrf }),
    }).then(remember);

  assert.equal((await remember(await fetch(`${issuer}/device`))).status, 200);
  assert.equal((await submit('/device', { user_code: userCode })).status, 200);
  const consent = await submit('/device/login', {
    username: 'u1',
    password,
    user_code: userCode,
  });
  assert.equal(consent.status, 200, consent.html);
  const done = await submit('/device/decision', { decision: 'approve', user_code: userCode });
  assert.equal(done.status, 200, done.html);
}

before(async () => {
  directory = mkdtempSync(join(tmpdir(), 'devauth-interop-'));
  devauth(['client', 'add', 'pub1', '--scopes', 'read write', '--default-scopes', 'read']);
  devauth(['client', 'add', 'rpub1', '--refresh-tokens', '--scopes', 'read write']);
  confidentialSecret = devauth(['client', 'add', 'conf1', '--confidential', '--scopes', 'read']);
  approverSecret = devauth(['client', 'add', 'bank', '--confidential', '--may-approve']);
  devauth(['user', 'add', 'u1'], `${password}\n`);

  const port = await freePort();
  issuer = `http://127.0.0.1:${port}`;
  server = spawn(
    binary,
    ['serve', '--port', String(port), '--store', join(directory, 'devauth.db'),
      '--interval', '1', '--threads', '2', '--log-level', 'warn'],
    { stdio: ['ignore', 'ignore', 'inherit'] },
  );
  await waitForHealthy(issuer);
});

after(() => {
  server?.kill('SIGTERM');
  if (directory) rmSync(directory, { recursive: true, force: true });
});

test('openid-client discovers, polls and receives the token (public client)', async () => {
  // openid-client v6 refuses http issuers unless allowInsecureRequests is executed, and
  // discovers OpenID Connect metadata unless the algorithm is oauth2 (RFC 8414).
  const config = await client.discovery(new URL(issuer), 'pub1', undefined, client.None(), {
    algorithm: 'oauth2',
    execute: [client.allowInsecureRequests],
  });
  const metadata = config.serverMetadata();
  assert.equal(metadata.device_authorization_endpoint, `${issuer}/oauth/device/begin`);

  const started = await client.initiateDeviceAuthorization(config, { scope: 'read write' });
  assert.match(started.user_code, /^[BCDFGHJKLMNPQRSTVWXZ]{4}-[BCDFGHJKLMNPQRSTVWXZ]{4}$/);
  assert.equal(started.verification_uri, `${issuer}/device`);

  const tokens = client.pollDeviceAuthorizationGrant(config, started);
  setTimeout(() => approveWithApi(started.user_code), 1500);
  const response = await tokens;
  assert.equal(response.token_type, 'bearer');
  assert.equal(response.scope, 'read write');
  assert.ok(response.access_token.length >= 43);
});

test('openid-client authenticates a confidential client with client_secret_basic', async () => {
  const config = await client.discovery(
    new URL(issuer),
    'conf1',
    undefined,
    client.ClientSecretBasic(confidentialSecret),
    { algorithm: 'oauth2', execute: [client.allowInsecureRequests] },
  );
  const started = await client.initiateDeviceAuthorization(config, {});
  await approveWithApi(started.user_code);
  const response = await client.pollDeviceAuthorizationGrant(config, started);
  assert.equal(response.scope, 'read');
});

test('oauth4webapi runs the flow with approval on the verification pages', async () => {
  const issuerUrl = new URL(issuer);
  const options = { [oauth.allowInsecureRequests]: true };
  const as = await oauth.processDiscoveryResponse(
    issuerUrl,
    await oauth.discoveryRequest(issuerUrl, { ...options, algorithm: 'oauth2' }),
  );
  const pub1 = { client_id: 'pub1' };
  const clientAuth = oauth.None();

  const started = await oauth.processDeviceAuthorizationResponse(
    as,
    pub1,
    await oauth.deviceAuthorizationRequest(as, pub1, clientAuth, { scope: 'read' }, options),
  );

  // The first poll is pending: oauth4webapi raises it as a ResponseBodyError.
  await assert.rejects(
    oauth.processDeviceCodeResponse(
      as,
      pub1,
      await oauth.deviceCodeGrantRequest(as, pub1, clientAuth, started.device_code, options),
    ),
    (error) => error instanceof oauth.ResponseBodyError && error.error === 'authorization_pending',
  );

  await approveWithPages(started.user_code);
  await new Promise((wake) => setTimeout(wake, started.interval * 1000 + 100));
  const response = await oauth.processDeviceCodeResponse(
    as,
    pub1,
    await oauth.deviceCodeGrantRequest(as, pub1, clientAuth, started.device_code, options),
  );
  assert.equal(response.token_type, 'bearer');
  assert.equal(response.scope, 'read');
});

test('openid-client refreshes, and a replayed refresh token is rejected', async () => {
  const config = await client.discovery(new URL(issuer), 'rpub1', undefined, client.None(), {
    algorithm: 'oauth2',
    execute: [client.allowInsecureRequests],
  });
  const started = await client.initiateDeviceAuthorization(config, {});
  const tokens = client.pollDeviceAuthorizationGrant(config, started);
  setTimeout(() => approveWithApi(started.user_code), 1500);
  const first = await tokens;
  assert.ok(first.refresh_token.length >= 43);

  const refreshed = await client.refreshTokenGrant(config, first.refresh_token, { scope: 'read' });
  assert.equal(refreshed.scope, 'read');
  assert.notEqual(refreshed.refresh_token, first.refresh_token);
  assert.notEqual(refreshed.access_token, first.access_token);

  await assert.rejects(client.refreshTokenGrant(config, first.refresh_token), (error) => {
    assert.equal(error.error, 'invalid_grant');
    return true;
  });
  // The replay revoked the grant, so the rotated token is refused too.
  await assert.rejects(client.refreshTokenGrant(config, refreshed.refresh_token), (error) => {
    assert.equal(error.error, 'invalid_grant');
    return true;
  });
});
