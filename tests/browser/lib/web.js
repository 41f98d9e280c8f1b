'use strict';
// The browser tests' shared rig: one real server (with the SMTP stand-in), Debian's Chromium
// driven by playwright-core, and the steps a person takes in the page.
const { before, after } = require('node:test');
const fs = require('node:fs');
const h = require('../../integ/lib/harness');
const o = require('../../integ/lib/outbound');
const { SmtpStandin } = require('../../integ/lib/smtp-standin');

const CHROMIUM = process.env.CHROMIUM_BIN || '/usr/bin/chromium';
const skip = h.binaryMissing() || (!fs.existsSync(CHROMIUM) && `no Chromium at ${CHROMIUM} (scripts/deps.sh --browser)`);
const T = { timeout: 120000 };
const WAIT = { timeout: 15000 };
const rig = { srv: null, smtp: null, browser: null };

/** Starts the server and the browser for this file's tests, and stops them after. */
function useRig() {
  before(async () => {
    if (skip) return;
    const { chromium } = require('playwright-core');
    rig.smtp = await SmtpStandin.start();
    // No --public-url: the page's origin is the server's own address.
    rig.srv = await o.startNatter({ smtp: rig.smtp, publicUrl: null });
    // --no-sandbox: CI runs as root, where Chromium's sandbox refuses to start.
    rig.browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox'] });
  });
  after(async () => {
    await rig.browser?.close();
    await rig.srv?.stop();
    rig.srv?.cleanup();
    await rig.smtp?.stop();
  });
  return rig;
}

/** A fresh browser profile on the app's page, with the page's errors collected. */
async function openApp() {
  const context = await rig.browser.newContext();
  const page = await context.newPage();
  page.errors = [];
  page.on('pageerror', (e) => page.errors.push(String(e)));
  await page.goto(`${rig.srv.url}/`);
  return page;
}

async function signUp(page, name) {
  const email = `${name.split(' ')[0].toLowerCase()}-${h.uid()}@example.test`;
  const password = `pw-${h.uid()}-secret`;
  await page.click('#mode-signup');
  await page.fill('input[name=display_name]', name);
  await page.fill('input[name=email]', email);
  await page.fill('input[name=password]', password);
  await page.click('#auth-submit');
  await page.locator('#chat-view').waitFor({ state: 'visible', ...WAIT });
  await page.locator('#conn-status', { hasText: 'Online' }).waitFor(WAIT);
  return { email, password, name };
}

async function submitDialog(page, field, value) {
  const dlg = page.locator('dialog[open]');
  await dlg.locator(`input[name=${field}]`).fill(value);
  await dlg.locator('button[type=submit]').click();
  await dlg.waitFor({ state: 'detached', ...WAIT });
}

async function say(page, text) {
  await page.fill('#composer-input', text);
  await page.press('#composer-input', 'Enter');
  // Acknowledged: in the timeline, no longer "Sending…".
  await page.locator('#messages li.msg:not(.sending) .body', { hasText: text }).waitFor(WAIT);
}

const bodies = (page) => page.locator('#messages li.msg .body').allTextContents();
const seen = (page, text) => page.locator('#messages li.msg .body', { hasText: text }).waitFor(WAIT);

module.exports = { skip, T, WAIT, useRig, openApp, signUp, submitDialog, say, bodies, seen };
