// Browser end-to-end suite of the Userhub web UI.
//
// Runs every page against `userhub serve` and against split `api` + `web`
// processes (E2E_MODES, default "serve,split"), in Debian's Chromium with
// JavaScript disabled, and saves light and dark screenshots of each page to
// $E2E_ARTIFACTS/screenshots. Started by `cargo xtask e2e`, which sets
// USERHUB_BIN; nothing is skipped: a missing binary or browser fails the run.
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';

import { launchBrowser, newPage } from './lib/browser.mjs';
import { ADMIN, startDeployment } from './lib/servers.mjs';
import { startSmtpSink } from './lib/smtp-sink.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const BIN = process.env.USERHUB_BIN;
const ARTIFACTS = process.env.E2E_ARTIFACTS || path.resolve(here, '../../../artifacts');
const SCREENSHOTS = path.join(ARTIFACTS, 'screenshots');
const MODES = (process.env.E2E_MODES || 'serve,split').split(',').map((m) => m.trim()).filter(Boolean);
const TOUR_MODE = process.env.E2E_TOUR_MODE || MODES[0];

assert.ok(BIN, 'USERHUB_BIN must name the userhub binary (cargo xtask e2e sets it)');

let browser;
let sink;

before(async () => {
  mkdirSync(SCREENSHOTS, { recursive: true });
  sink = await startSmtpSink();
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await sink?.close();
});

async function logIn(page, baseUrl, { email, password }) {
  await page.goto(`${baseUrl}/login`);
  await page.getByLabel('Email').fill(email);
  await page.getByLabel('Password', { exact: true }).fill(password);
  await page.getByRole('button', { name: 'Log in' }).click();
}

async function flashText(page) {
  return (await page.locator('.flash').first().textContent()).trim();
}

async function heading(page) {
  return (await page.locator('h1').first().textContent()).trim();
}

function assertNoCspViolations(page) {
  assert.deepEqual(page.cspViolations, [], 'the page broke its Content-Security-Policy');
}

for (const mode of MODES) {
  describe(`userhub ${mode}`, () => {
    let app;
    const user = { email: `erin.${mode}@example.com`, password: 'erin-password-1', name: 'Erin Example' };
    const url = (p) => `${app.baseUrl}${p}`;

    before(async () => {
      app = await startDeployment(mode, { bin: BIN, smtpPort: sink.port, artifacts: ARTIFACTS });
    });

    after(async () => {
      await app?.stop();
    });

    it('sends anonymous visitors to the log in page, and shows a 404 page', async () => {
      const page = await newPage(browser);
      await page.goto(url('/'));
      assert.equal(new URL(page.url()).pathname, '/login');
      assert.equal(await heading(page), 'Log in');
      const response = await page.goto(url('/no/such/page'));
      assert.equal(response.status(), 404);
      assert.equal(await heading(page), 'Page not found');
      const headers = response.headers();
      assert.match(headers['content-security-policy'], /frame-ancestors 'none'/);
      assert.equal(headers['x-content-type-options'], 'nosniff');
      assertNoCspViolations(page);
      await page.context().close();
    });

    it('logs in with the keyboard only and logs out', async () => {
      const page = await newPage(browser);
      const focused = () => page.evaluate(() => document.activeElement.id || document.activeElement.textContent);
      await page.goto(url('/signup'));
      await page.keyboard.press('Tab');
      assert.equal(await focused(), 'Skip to content', 'the skip link is the first stop');
      await page.goto(url('/login'));
      assert.equal(await focused(), 'email', 'the email field has the focus');
      await page.keyboard.type(ADMIN.email);
      await page.keyboard.press('Tab');
      await page.keyboard.type(ADMIN.password);
      await page.keyboard.press('Enter');
      await page.waitForURL(url('/'));
      assert.match(await heading(page), /^Hi, /);
      const cookies = await page.context().cookies();
      const session = cookies.find((c) => c.name === 'userhub_session');
      assert.ok(session, 'session cookie set');
      assert.equal(session.httpOnly, true);
      assert.equal(session.sameSite, 'Lax');
      assert.ok(!session.value.includes(ADMIN.email));
      await page.getByRole('button', { name: 'Log out' }).click();
      assert.equal(new URL(page.url()).pathname, '/login');
      assert.equal(await flashText(page), 'You have been logged out.');
      await page.goto(url('/items'));
      assert.equal(new URL(page.url()).pathname, '/login', 'logged out: pages need logging in again');
      await logIn(page, app.baseUrl, { email: ADMIN.email, password: 'wrong-password' });
      assert.equal((await page.locator('#form-error').textContent()).trim(), 'Incorrect email or password');
      assertNoCspViolations(page);
      await page.context().close();
    });

    it('signs up a new account and greets it on the dashboard', async () => {
      const page = await newPage(browser);
      await page.goto(url('/login'));
      await page.getByRole('link', { name: 'Sign up' }).click();
      await page.getByLabel('Full name').fill(user.name);
      await page.getByLabel('Email').fill(user.email);
      await page.getByLabel('Password', { exact: true }).fill(user.password);
      await page.getByLabel('Confirm password').fill(user.password);
      await page.getByRole('button', { name: 'Sign up' }).click();
      assert.match(await flashText(page), /Your account has been created/);
      await logIn(page, app.baseUrl, user);
      assert.equal(await heading(page), `Hi, ${user.name}`);
      // Signing up twice with the same email shows the API's message.
      await page.context().clearCookies();
      await page.goto(url('/signup'));
      await page.getByLabel('Email').fill(user.email);
      await page.getByLabel('Password', { exact: true }).fill(user.password);
      await page.getByLabel('Confirm password').fill(user.password);
      await page.getByRole('button', { name: 'Sign up' }).click();
      assert.match(await page.locator('#form-error').textContent(), /already exists in the system/);
      await page.context().close();
    });

    it('creates, lists, edits, paginates and deletes items', async () => {
      const page = await newPage(browser);
      await logIn(page, app.baseUrl, user);
      await page.getByRole('link', { name: 'Items', exact: true }).click();
      assert.equal(await page.locator('#items-empty h2').textContent(), "You don't have any items yet");

      await page.getByRole('link', { name: 'Add item' }).click();
      await page.getByLabel('Title').fill('Groceries');
      await page.getByLabel('Description').fill('Milk and bread');
      await page.getByRole('button', { name: 'Save' }).click();
      assert.equal(await flashText(page), 'Item created successfully.');
      const row = page.getByRole('row', { name: /Groceries/ });
      assert.match(await row.textContent(), /Milk and bread/);

      await row.getByRole('link', { name: /Edit/ }).click();
      assert.equal(await page.getByLabel('Title').inputValue(), 'Groceries');
      await page.getByLabel('Title').fill('Groceries for Sunday');
      await page.getByRole('button', { name: 'Save' }).click();
      assert.equal(await flashText(page), 'Item updated successfully.');
      assert.equal(await page.getByRole('row', { name: /Groceries for Sunday/ }).count(), 1);

      await page.getByRole('row', { name: /Groceries for Sunday/ }).getByRole('link', { name: /Delete/ }).click();
      assert.equal(await heading(page), 'Delete item');
      await page.getByRole('link', { name: 'Cancel' }).click();
      assert.equal(await page.getByRole('row', { name: /Groceries for Sunday/ }).count(), 1, 'cancel keeps the item');
      await page.getByRole('row', { name: /Groceries for Sunday/ }).getByRole('link', { name: /Delete/ }).click();
      await page.getByRole('button', { name: 'Delete' }).click();
      assert.equal(await flashText(page), 'Item deleted successfully');
      assert.equal(await page.locator('#items-empty').count(), 1);

      for (let n = 1; n <= 11; n++) {
        await page.goto(url('/items/new'));
        await page.getByLabel('Title').fill(`Task ${n}`);
        await page.getByRole('button', { name: 'Save' }).click();
      }
      assert.match(await page.locator('main').textContent(), /11 items/);
      assert.match(await page.locator('.pager').textContent(), /Page 1 of 2/);
      assert.equal(await page.locator('tbody tr').count(), 10);
      await page.getByRole('link', { name: /Next/ }).click();
      assert.match(await page.locator('.pager').textContent(), /Page 2 of 2/);
      assert.equal(await page.locator('tbody tr').count(), 1);
      assert.match(await page.locator('tbody').textContent(), /Task 1\b/, 'oldest item on the last page');
      assertNoCspViolations(page);
      await page.context().close();
    });

    it('changes profile, password and appearance in the settings', async () => {
      const page = await newPage(browser);
      await logIn(page, app.baseUrl, user);
      await page.getByRole('link', { name: 'User settings' }).first().click();
      await page.getByLabel('Full name').fill('Erin Renamed');
      await page.getByRole('button', { name: 'Save' }).click();
      assert.equal(await flashText(page), 'User updated successfully.');
      assert.equal(await page.getByLabel('Full name').inputValue(), 'Erin Renamed');
      await page.getByLabel('Email').fill(ADMIN.email);
      await page.getByRole('button', { name: 'Save' }).click();
      assert.equal((await page.locator('#form-error').textContent()).trim(), 'User with this email already exists');

      await page.getByRole('link', { name: 'Password' }).click();
      await page.getByLabel('Current password').fill('not-my-password');
      await page.getByLabel('New password', { exact: true }).fill('erin-password-2');
      await page.getByLabel('Confirm new password').fill('erin-password-2');
      await page.getByRole('button', { name: 'Change password' }).click();
      assert.equal((await page.locator('#form-error').textContent()).trim(), 'Incorrect password');
      await page.getByLabel('Current password').fill(user.password);
      await page.getByLabel('New password', { exact: true }).fill('erin-password-2');
      await page.getByLabel('Confirm new password').fill('erin-password-2');
      await page.getByRole('button', { name: 'Change password' }).click();
      assert.equal(await flashText(page), 'Password updated successfully');
      user.password = 'erin-password-2';

      await page.getByRole('link', { name: 'Appearance' }).click();
      await page.getByLabel('Dark').check();
      await page.getByRole('button', { name: 'Save appearance' }).click();
      assert.equal(await flashText(page), 'Appearance updated.');
      assert.equal(await page.locator('html').getAttribute('data-theme'), 'dark');
      const dark = await page.evaluate(() => getComputedStyle(document.body).backgroundColor);
      assert.equal(dark, 'rgb(17, 22, 28)', 'the dark palette applies in a light-scheme browser');
      // The header switch cycles dark -> light -> system.
      await page.locator('#theme-switch').click();
      assert.equal(await page.locator('html').getAttribute('data-theme'), 'light');
      await page.locator('#theme-switch').click();
      assert.equal(await page.locator('html').getAttribute('data-theme'), 'system');

      await page.getByRole('button', { name: 'Log out' }).click();
      await logIn(page, app.baseUrl, user);
      assert.equal(await heading(page), 'Hi, Erin Renamed', 'the new password works');
      assertNoCspViolations(page);
      await page.context().close();
    });

    it('keeps normal users out of the admin pages', async () => {
      const page = await newPage(browser);
      await logIn(page, app.baseUrl, user);
      assert.equal(await page.getByRole('link', { name: 'Admin' }).count(), 0);
      for (const p of ['/admin', '/admin/users/new']) {
        const response = await page.goto(url(p));
        assert.equal(response.status(), 403, p);
        assert.match(await page.locator('main').textContent(), /doesn't have enough privileges/);
      }
      await page.context().close();
    });

    it('lets a superuser create, edit and delete users', async () => {
      const page = await newPage(browser);
      await logIn(page, app.baseUrl, ADMIN);
      await page.getByRole('link', { name: 'Admin' }).first().click();
      assert.equal(await heading(page), 'Users management');
      assert.ok(await page.getByRole('row', { name: new RegExp(user.email.replace('.', '\\.')) }).count());

      const email = `new.hire.${mode}@example.com`;
      await page.getByRole('link', { name: 'Add user' }).click();
      await page.getByLabel('Email').fill(email);
      await page.getByLabel('Full name').fill('New Hire');
      await page.getByLabel('Password', { exact: true }).fill('new-hire-password');
      await page.getByLabel('Confirm password').fill('new-hire-password');
      await page.getByLabel('Is superuser?').check();
      await page.getByRole('button', { name: 'Save' }).click();
      assert.equal(await flashText(page), 'User created successfully.');
      let row = page.getByRole('row', { name: new RegExp(email) });
      assert.match(await row.textContent(), /Superuser/);
      assert.match(await row.textContent(), /Active/);

      await row.getByRole('link', { name: /Edit/ }).click();
      assert.equal(await page.getByLabel('Is superuser?').isChecked(), true);
      await page.getByLabel('Full name').fill('New Hire Edited');
      await page.getByLabel('Is superuser?').uncheck();
      await page.getByLabel('Is active?').uncheck();
      await page.getByRole('button', { name: 'Save' }).click();
      assert.equal(await flashText(page), 'User updated successfully.');
      row = page.getByRole('row', { name: new RegExp(email) });
      assert.match(await row.textContent(), /New Hire Edited/);
      assert.match(await row.textContent(), /Inactive/);
      assert.doesNotMatch(await row.textContent(), /Superuser/);

      // The inactive user cannot log in.
      const other = await newPage(browser);
      await logIn(other, app.baseUrl, { email, password: 'new-hire-password' });
      assert.equal((await other.locator('#form-error').textContent()).trim(), 'Inactive user');
      await other.context().close();

      await row.getByRole('link', { name: /Delete/ }).click();
      await page.getByRole('button', { name: 'Delete' }).click();
      assert.equal(await flashText(page), 'User deleted successfully');
      assert.equal(await page.getByRole('row', { name: new RegExp(email) }).count(), 0);
      assertNoCspViolations(page);
      await page.context().close();
    });

    it('resets a forgotten password through the emailed link', async () => {
      const page = await newPage(browser);
      const before = sink.messages.length;
      await page.goto(url('/login'));
      await page.getByRole('link', { name: 'Forgot password?' }).click();
      await page.getByLabel('Email').fill(user.email);
      await page.getByRole('button', { name: 'Send recovery email' }).click();
      assert.match(await flashText(page), /If that email is registered/);
      const mail = await sink.waitFor(user.email, { from: before });
      const link = /https?:\/\/[^\s"'<>]+\/reset-password\?token=[A-Za-z0-9._-]+/.exec(mail.text);
      assert.ok(link, `no reset link in the email:\n${mail.text}`);
      assert.ok(link[0].startsWith(`${app.baseUrl}/reset-password?token=`), link[0]);
      await page.goto(link[0]);
      assert.equal(await heading(page), 'Reset password');
      await page.getByLabel('New password').fill('erin-password-3');
      await page.getByLabel('Confirm password').fill('erin-password-3');
      await page.getByRole('button', { name: 'Reset password' }).click();
      assert.equal(await flashText(page), 'Password updated successfully');
      user.password = 'erin-password-3';
      await logIn(page, app.baseUrl, user);
      assert.equal(await heading(page), 'Hi, Erin Renamed');
      // A forged token is refused with the API's message.
      await page.goto(url('/reset-password?token=not-a-token'));
      await page.getByLabel('New password').fill('erin-password-4');
      await page.getByLabel('Confirm password').fill('erin-password-4');
      await page.getByRole('button', { name: 'Reset password' }).click();
      assert.equal((await page.locator('#form-error').textContent()).trim(), 'Invalid token');
      await page.context().close();
    });

    if (mode === TOUR_MODE) {
      it('renders every page in light and dark themes, down to phone width (screenshots)', async () => {
        await screenshotTour(app.baseUrl, user);
      });
    }

    it('deletes the account from the settings', async () => {
      const page = await newPage(browser);
      await logIn(page, app.baseUrl, user);
      await page.goto(url('/settings/danger'));
      await page.getByRole('link', { name: 'Delete account' }).click();
      await page.getByRole('button', { name: 'Delete my account' }).click();
      assert.equal(await flashText(page), 'Your account has been deleted.');
      await logIn(page, app.baseUrl, user);
      assert.equal((await page.locator('#form-error').textContent()).trim(), 'Incorrect email or password');
      await page.context().close();
    });
  });
}

/**
 * A full-page screenshot. Headless Chromium on a busy machine sometimes
 * answers `Page.captureScreenshot` with "Unable to capture screenshot" (no
 * compositor frame in time); that, and only that, is tried again, at most
 * three times in all.
 */
async function capture(page, file) {
  for (let attempt = 1; ; attempt++) {
    try {
      await page.screenshot({ path: file, fullPage: true });
      return;
    } catch (error) {
      if (attempt >= 3 || !String(error.message).includes('Unable to capture screenshot')) throw error;
      await new Promise((resolve) => setTimeout(resolve, 500 * attempt));
    }
  }
}

/** Light and dark (and phone-width) screenshots of every page. */
async function screenshotTour(baseUrl, user) {
  const shots = [];
  for (const theme of ['light', 'dark']) {
    const page = await newPage(browser, { colorScheme: theme });
    const shoot = async (name, p, { status = 200 } = {}) => {
      const response = await page.goto(`${baseUrl}${p}`);
      assert.equal(response.status(), status, `${p} answered ${response.status()}`);
      const background = await page.evaluate(() => getComputedStyle(document.body).backgroundColor);
      const [r, g, b] = background.match(/\d+/g).map(Number);
      const luminance = (0.2126 * r + 0.7152 * g + 0.0722 * b) / 255;
      assert.ok(theme === 'dark' ? luminance < 0.2 : luminance > 0.8, `${p} in ${theme}: background ${background}`);
      const file = path.join(SCREENSHOTS, `${name}-${theme}.png`);
      await capture(page, file);
      shots.push(file);
    };
    await shoot('login', '/login');
    await shoot('signup', '/signup');
    await shoot('recover-password', '/recover-password');
    await shoot('reset-password', '/reset-password?token=example');
    await shoot('not-found', '/no-such-page', { status: 404 });

    await logIn(page, baseUrl, ADMIN);
    if (theme === 'light') {
      for (const [title, description] of [['Quarterly report', 'Draft for review'], ['Team offsite', 'Book the venue'], ['Onboarding', null]]) {
        await page.goto(`${baseUrl}/items/new`);
        await page.getByLabel('Title').fill(title);
        if (description) await page.getByLabel('Description').fill(description);
        await page.getByRole('button', { name: 'Save' }).click();
      }
    }
    await page.goto(`${baseUrl}/items`);
    const itemEdit = await page.getByRole('link', { name: /Edit/ }).first().getAttribute('href');
    await page.goto(`${baseUrl}/admin`);
    const userRow = page.getByRole('row', { name: new RegExp(user.email.replace('.', '\\.')) });
    const userEdit = await userRow.getByRole('link', { name: /Edit/ }).getAttribute('href');

    await shoot('dashboard', '/');
    await shoot('items', '/items');
    await shoot('item-new', '/items/new');
    await shoot('item-edit', itemEdit);
    await shoot('item-delete', itemEdit.replace(/\/edit$/, '/delete'));
    await shoot('settings-profile', '/settings');
    await shoot('settings-password', '/settings/password');
    await shoot('settings-appearance', '/settings/appearance');
    await shoot('settings-danger', '/settings/danger');
    await shoot('settings-delete-account', '/settings/delete-account');
    await shoot('admin', '/admin');
    await shoot('admin-user-new', '/admin/users/new');
    await shoot('admin-user-edit', userEdit);
    await shoot('admin-user-delete', userEdit.replace(/\/edit$/, '/delete'));
    assertNoCspViolations(page);
    await page.context().close();

    const phone = await newPage(browser, { colorScheme: theme, viewport: { width: 360, height: 740 } });
    await logIn(phone, baseUrl, ADMIN);
    for (const [name, p] of [['phone-dashboard', '/'], ['phone-items', '/items'], ['phone-admin', '/admin'], ['phone-settings', '/settings']]) {
      await phone.goto(`${baseUrl}${p}`);
      const overflow = await phone.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
      assert.ok(overflow <= 0, `${p} scrolls sideways by ${overflow}px at phone width`);
      const file = path.join(SCREENSHOTS, `${name}-${theme}.png`);
      await capture(phone, file);
      shots.push(file);
    }
    await phone.context().close();
  }
  assert.equal(shots.length, 2 * (5 + 14 + 4));
}
