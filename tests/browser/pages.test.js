// Drives the verification pages and the device display page in Debian's headless chromium
// (/usr/bin/chromium) through playwright-core, at a phone viewport and a desktop one. Each test
// starts its own `devauth serve` on a free port with its own temporary store and stops it by
// PID. Screenshots of each page go to DEVAUTH_SCREENSHOTS (default: browser-screenshots/ next to
// the binary).
//
// DEVAUTH_BINARY names the binary; the default is ../../build/devauth.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

import { chromium } from 'playwright-core';

const here = fileURLToPath(new URL('.', import.meta.url));
const binary = process.env.DEVAUTH_BINARY ?? resolve(here, '../../build/devauth');
const screenshots = process.env.DEVAUTH_SCREENSHOTS ?? join(dirname(binary), 'browser-screenshots');
const password = 'correct horse battery staple';
const clientName = 'Living room TV';

const viewports = {
  phone: { width: 390, height: 844 },
  desktop: { width: 1280, height: 800 },
};

let browser;

before(async () => {
  mkdirSync(screenshots, { recursive: true });
  browser = await chromium.launch({ executablePath: '/usr/bin/chromium' });
});

after(async () => {
  await browser?.close();
});

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

async function waitForHealthy(url, child) {
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`devauth serve exited with ${child.exitCode}`);
    try {
      if ((await fetch(`${url}/healthz`)).ok) return;
    } catch {
      // Not listening yet.
    }
    await new Promise((wake) => setTimeout(wake, 50));
  }
  throw new Error(`devauth serve did not become healthy at ${url}`);
}

// Starts `devauth serve` with a client `tv` (also the display client), a user `alice` and
// `flags`, in a new temporary directory. The poll interval is 1 s unless `flags` sets it.
// Returns { url, stop }.
async function startServer(flags = []) {
  const directory = mkdtempSync(join(tmpdir(), 'devauth-browser-'));
  const store = join(directory, 'devauth.db');
  const run = (args, input) =>
    execFileSync(binary, [...args, '--store', store], { input, encoding: 'utf8' });
  run(['client', 'add', 'tv', '--name', clientName, '--scopes', 'openid profile']);
  run(['user', 'add', 'alice'], `${password}\n`);

  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const child = spawn(
    binary,
    ['serve', '--port', String(port), '--store', store, '--threads', '2',
      '--display-client', 'tv', '--log-level', 'warn',
      ...(flags.includes('--interval') ? [] : ['--interval', '1']), ...flags],
    { stdio: ['ignore', 'ignore', 'inherit'] },
  );
  await waitForHealthy(url, child);

  const stop = async () => {
    if (child.exitCode === null) {
      const exited = new Promise((wake) => child.once('exit', wake));
      process.kill(child.pid, 'SIGTERM');
      await exited;
    }
    rmSync(directory, { recursive: true, force: true });
  };
  return { url, stop };
}

// Starts a flow for `tv` as a device would, with the extra request `headers`.
async function beginFlow(url, headers = {}) {
  const response = await fetch(`${url}/oauth/device/begin`, {
    method: 'POST',
    headers,
    body: new URLSearchParams({ client_id: 'tv' }),
  });
  assert.equal(response.status, 200);
  return response.json();
}

async function poll(url, deviceCode) {
  const response = await fetch(`${url}/oauth/device/token`, {
    method: 'POST',
    body: new URLSearchParams({
      grant_type: 'urn:ietf:params:oauth:grant-type:device_code',
      device_code: deviceCode,
      client_id: 'tv',
    }),
  });
  return { status: response.status, body: await response.json() };
}

// A new page at `viewport`. page.errors collects script errors, console errors (a CSP
// violation is one) and failed style sheets, scripts and images. Chromium also logs an error
// for every 4xx response, which the error pages and the token endpoint send on purpose, so
// those lines are left out.
async function openPage(viewport, { javaScript = true, locale = 'en-US' } = {}) {
  const context = await browser.newContext({
    viewport: viewports[viewport],
    javaScriptEnabled: javaScript,
    locale,
  });
  const page = await context.newPage();
  page.errors = [];
  page.on('console', (message) => {
    const text = message.text();
    if (message.type() === 'error' && !text.startsWith('Failed to load resource')) {
      page.errors.push(text);
    }
  });
  page.on('pageerror', (error) => page.errors.push(error.message));
  page.on('response', (response) => {
    const type = response.request().resourceType();
    if (['stylesheet', 'script', 'image'].includes(type) && response.status() >= 400) {
      page.errors.push(`${response.status()} for ${response.url()}`);
    }
  });
  page.on('requestfailed', (request) => page.errors.push(`failed: ${request.url()}`));
  return page;
}

async function shoot(page, name) {
  await page.screenshot({ path: join(screenshots, `${name}.png`), fullPage: true });
}

// The checks every page must pass: a language, one main landmark and one h1, labelled
// controls, and no console errors.
async function checkPage(page, lang = 'en') {
  assert.equal(await page.getAttribute('html', 'lang'), lang);
  assert.equal(await page.locator('main').count(), 1);
  assert.equal(await page.locator('h1').count(), 1);
  for (const input of await page.locator('input:not([type=hidden])').all()) {
    const id = await input.getAttribute('id');
    assert.equal(await page.locator(`label[for="${id}"]`).count(), 1, `label for #${id}`);
  }
  assert.deepEqual(page.errors, []);
}

// Enters `typed` on the code page, signs in as alice and returns on the consent page.
async function reachConsent(page, url, typed, name) {
  await page.goto(`${url}/device`);
  await page.getByLabel('Code').fill(typed);
  if (name) await shoot(page, `${name}-code`);
  await page.getByRole('button', { name: 'Continue' }).click();
  await page.waitForSelector('h1:has-text("Sign in")');
  await checkPage(page);
  if (name) await shoot(page, `${name}-sign-in`);
  await page.getByLabel('Username').fill('alice');
  await page.getByLabel('Password').fill(password);
  await page.getByLabel('Password').press('Enter');
  await page.waitForSelector('h1:has-text("Allow access?")');
  await checkPage(page);
}

for (const viewport of Object.keys(viewports)) {
  describe(`BrowserPages at ${viewport} viewport`, () => {
    test('approve issues the token and formats the code while typing', async () => {
      // The device sends its request through a trusted proxy, from another network than the
      // browser's.
      const server = await startServer(['--trust-forwarded-for']);
      const page = await openPage(viewport);
      try {
        const flow = await beginFlow(server.url, {
          'user-agent': 'LivingRoomTV/2.1 (webOS 6.0)',
          'x-forwarded-for': '203.0.113.7',
        });
        const typed = flow.user_code.replace('-', '').toLowerCase();

        await page.goto(`${server.url}/device`);
        await checkPage(page);
        assert.equal(await page.evaluate(() => document.activeElement.id), 'user_code');
        await page.keyboard.type(typed);
        assert.equal(await page.getByLabel('Code').inputValue(), flow.user_code);
        await reachConsent(page, server.url, typed, viewport);

        await shoot(page, `${viewport}-consent`);
        const main = page.locator('main');
        await assert.doesNotReject(main.getByText(clientName).first().waitFor());
        assert.ok(await main.getByText('Confirm who you are').isVisible());
        assert.ok(await main.getByText('See your basic profile, such as your name').isVisible());
        assert.equal(await page.locator('.code-display').textContent(), flow.user_code);
        assert.equal(await main.locator('dd.device').textContent(),
          'LivingRoomTV/2.1 (webOS 6.0)');
        assert.equal(await main.locator('dd.address').textContent(),
          '203.0.113.7 (a different network from this browser at 127.0.0.1)');
        assert.match(await main.locator('dt:has-text("Requested") + dd').last().textContent(),
          /^(Just now|1 minute ago) \(\d{4}-\d\d-\d\d \d\d:\d\d UTC\)$/);
        assert.equal(await main.locator('dd.account').textContent(), 'alice');
        for (const detail of await main.locator('dl.details dd').all()) {
          assert.ok(await detail.isVisible());
        }
        // Nothing, the details included, makes the page scroll sideways.
        assert.ok(await page.evaluate(
          () => document.documentElement.scrollWidth <= window.innerWidth));
        assert.equal((await poll(server.url, flow.device_code)).body.error,
          'authorization_pending');

        await page.getByRole('button', { name: 'Approve' }).click();
        await page.waitForSelector('h1:has-text("Device connected")');
        await checkPage(page);
        assert.ok(await page.getByText('You can return to your device.').isVisible());
        await shoot(page, `${viewport}-approved`);

        const token = await poll(server.url, flow.device_code);
        assert.equal(token.status, 200);
        assert.equal(token.body.token_type, 'Bearer');
      } finally {
        await page.context().close();
        await server.stop();
      }
    });

    test('deny makes the device get access_denied', async () => {
      const server = await startServer();
      const page = await openPage(viewport);
      try {
        const flow = await beginFlow(server.url);
        await reachConsent(page, server.url, flow.user_code);

        await page.getByRole('button', { name: 'Deny' }).click();
        await page.waitForSelector('h1:has-text("Request denied")');
        await checkPage(page);
        await shoot(page, `${viewport}-denied`);

        assert.equal((await poll(server.url, flow.device_code)).body.error, 'access_denied');
      } finally {
        await page.context().close();
        await server.stop();
      }
    });

    test('mistyped code shows the error on the code form', async () => {
      const server = await startServer();
      const page = await openPage(viewport);
      try {
        const flow = await beginFlow(server.url);
        const wrong = flow.user_code === 'BBBB-BBBB' ? 'CCCC-CCCC' : 'BBBB-BBBB';

        await page.goto(`${server.url}/device`);
        await page.getByLabel('Code').fill(wrong);
        const [response] = await Promise.all([
          page.waitForResponse((r) => r.request().method() === 'POST'),
          page.getByRole('button', { name: 'Continue' }).click(),
        ]);
        await page.waitForLoadState();

        assert.equal(response.status(), 400);
        assert.match(await page.getByRole('alert').textContent(), /^That code didn't work\./);
        assert.equal(await page.getByLabel('Code').getAttribute('aria-invalid'), 'true');
        await checkPage(page);
        await shoot(page, `${viewport}-wrong-code`);
        assert.equal((await poll(server.url, flow.device_code)).body.error,
          'authorization_pending');
      } finally {
        await page.context().close();
        await server.stop();
      }
    });

    test('a form posted without its CSRF token is rejected', async () => {
      const server = await startServer();
      const page = await openPage(viewport);
      try {
        const flow = await beginFlow(server.url);
        await page.goto(`${server.url}/device`);
        await page.locator('input[name=csrf_token]').evaluate((input) => input.remove());
        await page.getByLabel('Code').fill(flow.user_code);
        const [response] = await Promise.all([
          page.waitForResponse((r) => r.request().method() === 'POST'),
          page.getByRole('button', { name: 'Continue' }).click(),
        ]);
        await page.waitForLoadState();

        assert.equal(response.status(), 403);
        assert.equal(await page.locator('h1').textContent(), 'Form expired');
        await checkPage(page);
        await shoot(page, `${viewport}-form-expired`);
      } finally {
        await page.context().close();
        await server.stop();
      }
    });

    test('display page turns to approved after approval on the phone', async () => {
      const server = await startServer();
      // The display page at the same viewport, so that both layouts are checked.
      const display = await openPage(viewport);
      const phone = await openPage(viewport);
      try {
        await display.goto(`${server.url}/device/display`);
        await checkPage(display);
        const code = (await display.locator('.display-code').textContent()).trim();
        assert.match(code, /^[B-Z]{4}-[B-Z]{4}$/);
        assert.equal(await display.locator('svg.qr').count(), 1);
        await shoot(display, `${viewport}-display-pending`);

        await reachConsent(phone, server.url, code);
        await phone.getByRole('button', { name: 'Approve' }).click();
        await phone.waitForSelector('h1:has-text("Device connected")');

        await display.waitForSelector('section[data-state=approved]:not([hidden])',
          { timeout: 10_000 });
        assert.equal(await display.getAttribute('body', 'data-display-state'), 'approved');
        assert.equal(await display.locator('[data-announce]').textContent(),
          'Approved This device is now signed in.');
        assert.ok(await display.getByText('This device is now signed in.', { exact: true })
          .isVisible());
        assert.deepEqual(display.errors, []);
        await shoot(display, `${viewport}-display-approved`);
      } finally {
        await display.context().close();
        await phone.context().close();
        await server.stop();
      }
    });
  });
}

describe('BrowserPages limits and fallbacks at phone viewport', () => {
  test('expired code gets the same error as a wrong one', async () => {
    const server = await startServer(['--expires-in', '10']);
    const page = await openPage('phone');
    try {
      const flow = await beginFlow(server.url);
      await page.goto(`${server.url}/device`);
      await new Promise((wake) => setTimeout(wake, 10_500));
      await page.getByLabel('Code').fill(flow.user_code);
      await page.getByRole('button', { name: 'Continue' }).click();
      await page.waitForSelector('[role=alert]');

      assert.match(await page.getByRole('alert').textContent(), /^That code didn't work\./);
      await checkPage(page);
      assert.equal((await poll(server.url, flow.device_code)).body.error, 'expired_token');
    } finally {
      await page.context().close();
      await server.stop();
    }
  });

  test('the code box groups letters by 4 and digits by 3 as they are typed', async () => {
    const server = await startServer();
    const page = await openPage('phone');
    try {
      await page.goto(`${server.url}/device`);
      const box = page.getByLabel('Code');
      await box.click();
      await page.keyboard.type('123 456789-012345');
      assert.equal(await box.inputValue(), '123-456-789-012-345');
      await box.fill('');
      await page.keyboard.type('bcdfghjklm');
      assert.equal(await box.inputValue(), 'BCDF-GHJK-LM');
      await checkPage(page);
    } finally {
      await page.context().close();
      await server.stop();
    }
  });

  test('too many wrong codes get the 429 page', async () => {
    const server = await startServer(['--user-code-failures-per-session', '2']);
    const page = await openPage('phone');
    try {
      // The limit counts in fixed one-minute windows. Of five attempts, at least three fall in
      // one window, so the third failure in a window gets 429 even across a window boundary.
      const statuses = [];
      for (const wrong of ['BBBB-BBBB', 'CCCC-CCCC', 'DDDD-DDDD', 'FFFF-FFFF', 'GGGG-GGGG']) {
        await page.goto(`${server.url}/device`);
        await page.getByLabel('Code').fill(wrong);
        const [response] = await Promise.all([
          page.waitForResponse((r) => r.request().method() === 'POST'),
          page.getByRole('button', { name: 'Continue' }).click(),
        ]);
        await page.waitForLoadState();
        statuses.push(response.status());
        if (response.status() === 429) break;
      }

      assert.deepEqual(statuses.slice(0, 2), [400, 400]);
      assert.equal(statuses.at(-1), 429);
      assert.equal(await page.locator('h1').textContent(), 'Too many attempts');
      assert.match(await page.getByRole('alert').textContent(), /Wait 1 minute and try again\./);
      await checkPage(page);
      await shoot(page, 'phone-too-many-attempts');
    } finally {
      await page.context().close();
      await server.stop();
    }
  });

  test('without JavaScript the pages and the display page still work', async () => {
    const server = await startServer();
    const display = await openPage('desktop', { javaScript: false });
    const phone = await openPage('phone', { javaScript: false });
    try {
      await display.goto(`${server.url}/device/display`);
      const code = (await display.locator('.display-code').textContent()).trim();
      assert.ok(await display.getByRole('link', { name: 'Check now' }).isVisible());
      await checkPage(display);
      await shoot(display, 'nojs-display-pending');

      // Typed in lower case without the dash: without script nothing reformats it, and the
      // server normalizes it.
      const typed = code.replace('-', '').toLowerCase();
      await phone.goto(`${server.url}/device`);
      await phone.getByLabel('Code').fill(typed);
      assert.equal(await phone.getByLabel('Code').inputValue(), typed);
      await phone.getByRole('button', { name: 'Continue' }).click();
      await phone.getByLabel('Username').fill('alice');
      await phone.getByLabel('Password').fill(password);
      await phone.getByRole('button', { name: 'Sign in' }).click();
      await phone.getByRole('button', { name: 'Approve' }).click();
      await phone.waitForSelector('h1:has-text("Device connected")');
      await checkPage(phone);

      // The display page's <noscript> meta refresh reloads it, and the server reports the
      // approval from the flow in its cookie.
      await display.waitForSelector('section[data-state=approved]:not([hidden])',
        { timeout: 10_000 });
      await checkPage(display);
      await shoot(display, 'nojs-display-approved');
    } finally {
      await display.context().close();
      await phone.context().close();
      await server.stop();
    }
  });

  test('display page adds 5 s to its interval on slow_down and keeps polling', async () => {
    // With --interval 2 and the server's 1 s jitter allowance, a poll that follows another at
    // once is too early and gets slow_down (RFC 8628 section 3.5).
    const server = await startServer(['--interval', '2']);
    const display = await openPage('phone');
    const phone = await openPage('phone');
    try {
      const requests = [];
      const answers = [];
      display.on('request', (request) => {
        if (request.url().endsWith('/oauth/device/token')) requests.push(Date.now());
      });
      display.on('response', async (response) => {
        if (!response.url().endsWith('/oauth/device/token')) return;
        answers.push({ status: response.status(), body: await response.json() });
      });
      // The page's first poll waits until the same device code has polled from here, so it
      // reaches the real server too early.
      let deviceCode;
      let pollsFirst = true;
      await display.route('**/oauth/device/token', async (route) => {
        if (pollsFirst) {
          pollsFirst = false;
          assert.equal((await poll(server.url, deviceCode)).body.error, 'authorization_pending');
        }
        await route.continue();
      });
      await display.goto(`${server.url}/device/display`);
      deviceCode = await display.locator('main').getAttribute('data-device-code');
      const code = (await display.locator('.display-code').textContent()).trim();

      const answered = async (count) => {
        const deadline = Date.now() + 15_000;
        while (answers.length < count && Date.now() < deadline) {
          await new Promise((wake) => setTimeout(wake, 100));
        }
        assert.equal(answers.length, count, `answers: ${JSON.stringify(answers)}`);
      };
      await answered(2);
      assert.equal(answers[0].status, 400);
      assert.equal(answers[0].body.error, 'slow_down');
      assert.equal(answers[1].status, 400);
      assert.equal(answers[1].body.error, 'authorization_pending');
      // 2 s plus 5 s. Timers never fire early, and the upper bound leaves 2.5 s for a busy
      // machine while still failing an interval raised twice.
      const gap = requests[1] - requests[0];
      assert.ok(gap >= 6_900, `gap after slow_down: ${gap} ms`);
      assert.ok(gap < 9_500, `gap after slow_down: ${gap} ms`);

      await reachConsent(phone, server.url, code);
      await phone.getByRole('button', { name: 'Approve' }).click();
      await phone.waitForSelector('h1:has-text("Device connected")');

      await display.waitForSelector('section[data-state=approved]:not([hidden])',
        { timeout: 15_000 });
      assert.equal(answers.at(-1).status, 200);
      for (const answer of answers.slice(1, -1)) {
        assert.equal(answer.body.error, 'authorization_pending');
      }
      // The raised interval stays: every later poll waits 7 s again.
      for (let i = 2; i < requests.length; i += 1) {
        const next = requests[i] - requests[i - 1];
        assert.ok(next >= 6_900, `gap before poll ${i + 1}: ${next} ms`);
        assert.ok(next < 9_500, `gap before poll ${i + 1}: ${next} ms`);
      }
      assert.equal(await display.getAttribute('body', 'data-display-state'), 'approved');
      assert.deepEqual(display.errors, []);
    } finally {
      await display.context().close();
      await phone.context().close();
      await server.stop();
    }
  });

  test('German browsers get German pages', async () => {
    const server = await startServer(['--brand-name', 'Acme', '--brand-color', '#c2185b']);
    const page = await openPage('phone', { locale: 'de-DE' });
    try {
      await page.goto(`${server.url}/device`);
      assert.equal(await page.locator('h1').textContent(), 'Gerät verbinden');
      assert.equal(await page.locator('header .product').textContent(), 'Acme');
      assert.equal(await page.getByRole('button', { name: 'Weiter' }).evaluate(
        (button) => getComputedStyle(button).backgroundColor), 'rgb(194, 24, 91)');
      await checkPage(page, 'de');
      await shoot(page, 'phone-german-code');
    } finally {
      await page.context().close();
      await server.stop();
    }
  });
});
