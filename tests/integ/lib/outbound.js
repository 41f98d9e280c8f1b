'use strict';
// Helpers for the issue-4 tests (invites, mail, reset, calls, bots, admin API), on top of harness.js.
//
// Schema checks: harness.js checks every frame and REST body against proto/schema. Ops and events
// that have no schema yet (new in issue 4) would fail every test with "unknown op"; here they are
// collected instead, and each file's last test, schemaCoverage(), reports the ones that are missing.
// Anything that HAS a schema is still checked strictly by the harness.

const { spawnSync } = require('node:child_process');
const assert = require('node:assert/strict');
const crypto = require('node:crypto');
const h = require('./harness');

// ---------------------------------------------------------------------------------------------
// Tolerate (but record) ops and events that have no schema yet.
const missingSchemas = new Map(); // message -> count
const UNKNOWN = /unknown (op|event) |ok:true for an unknown op|is not a REST op/;
if (h.schemas && !h.schemas.__outboundWrapped) {
  for (const fn of ['validateServerFrame', 'validateOk', 'validateResult', 'validateRest', 'validateEvent']) {
    const orig = h.schemas[fn];
    if (typeof orig !== 'function') continue;
    h.schemas[fn] = (...args) => {
      const err = orig(...args);
      if (err && UNKNOWN.test(err)) {
        const key = err.replace(/\s+/g, ' ').slice(0, 160);
        missingSchemas.set(key, (missingSchemas.get(key) || 0) + 1);
        return null;
      }
      return err;
    };
  }
  h.schemas.__outboundWrapped = true;
}

/** The ops/events seen in this file that proto/schema does not describe. */
function missingSchemaList() {
  return [...missingSchemas.keys()].sort();
}

/** Register as the last test of a file: fails when any op or event used had no schema. */
function schemaCoverageTest(test, skip) {
  test('every op and event used in this file has a JSON Schema (proto/schema/index.json)', { skip: skip || !h.schemas }, () => {
    const list = missingSchemaList();
    assert.deepEqual(list, [], `no schema for:\n  ${list.join('\n  ')}`);
  });
}

// ---------------------------------------------------------------------------------------------
const { freePort } = h;

/** A port on loopback that nothing listens on (for "network error" cases). */
async function closedPort() {
  return freePort();
}

const PUBLIC_URL = 'https://chat.example.test';
const MAIL_WAIT_MS = Math.max(20000, 2 * h.WAIT_MS);

/**
 * startServer with the issue-4 wiring. opts: {smtp (SmtpStandin), twilio (TwilioStandin),
 * publicUrl (default PUBLIC_URL; null = none), limits, args, dataDir, env}
 */
function startNatter(opts = {}) {
  const args = [];
  const publicUrl = opts.publicUrl === undefined ? PUBLIC_URL : opts.publicUrl;
  if (publicUrl) args.push('--public-url', publicUrl);
  if (opts.smtp) args.push(...opts.smtp.natterArgs());
  if (opts.twilio) args.push(...opts.twilio.natterArgs());
  args.push(...(opts.args || []));
  return h.startServer({ limits: opts.limits, args, dataDir: opts.dataDir, env: opts.env, port: opts.port })
    .then((srv) => Object.assign(srv, { publicUrl }));
}

/** Run `natter [--data-dir DIR] <args...>` (the operator's CLI). -> {status, stdout, stderr} */
function cli(dataDir, args) {
  const full = dataDir ? ['--data-dir', dataDir, ...args] : args;
  const r = spawnSync(h.BIN, full, { encoding: 'utf8', timeout: 60000 });
  return { status: r.status, signal: r.signal, stdout: r.stdout || '', stderr: r.stderr || '', args: full };
}

/**
 * Make `email` a server admin: stop the server, run `natter --data-dir DIR admin make-admin EMAIL`,
 * start it again on the same port and data dir.
 */
async function makeAdmin(srv, email) {
  await srv.stop();
  const r = cli(srv.dataDir, ['admin', 'make-admin', email]);
  await srv.restart();
  if (r.status !== 0) {
    throw new Error(`natter admin make-admin ${email} exited ${r.status}${r.signal ? ` (${r.signal})` : ''}:\n${r.stdout}${r.stderr}`);
  }
  return r;
}

/** auth.login with audience "admin" -> the REST answer. */
function adminLogin(srv, email, password) {
  return h.rest(srv, 'auth.login', { email, password, audience: 'admin' });
}

/**
 * A server admin on srv: signs up, make-admin (restarts the server), logs in with both audiences.
 * -> {...user (chat token in .token), adminToken}
 */
async function setupAdmin(srv, name = 'Root Admin') {
  const u = await h.signup(srv, name);
  await makeAdmin(srv, u.email);
  const chat = await h.rest(srv, 'auth.login', { email: u.email, password: u.password });
  assert.equal(chat.status, 200, `login after make-admin: ${JSON.stringify(chat.body)}`);
  u.token = chat.body.access_token;
  const r = await adminLogin(srv, u.email, u.password);
  assert.equal(r.status, 200, `admin login: ${r.status} ${JSON.stringify(r.body)}`);
  u.adminToken = r.body.access_token;
  return u;
}

/** REST call that must succeed: -> the body. */
async function ok(srv, op, body, token) {
  const r = await h.rest(srv, op, body, token);
  if (r.status !== 200 || !r.body || r.body.ok !== true) {
    throw new Error(`${op} ${JSON.stringify(body).slice(0, 300)} -> ${r.status} ${JSON.stringify(r.body).slice(0, 500)}`);
  }
  return r.body;
}

/** Assert a REST error: status and code (and optional message regexp). */
function assertRestError(r, status, code, what = '', messageRe = null) {
  const desc = `${what}: got ${r.status} ${JSON.stringify(r.body).slice(0, 400)}`;
  assert.equal(r.status, status, desc);
  assert.ok(r.body && r.body.ok === false && r.body.error, desc);
  assert.equal(r.body.error.code, code, desc);
  assert.equal(typeof r.body.error.message, 'string', desc);
  assert.equal(typeof r.body.error.temporary, 'boolean', desc);
  if (messageRe) assert.match(r.body.error.message, messageRe, desc);
}

/** A WS request that must fail with code: -> the error d. */
async function wsError(client, op, d, code, messageRe = null) {
  try {
    const res = await client.request(op, d);
    assert.fail(`${op} ${JSON.stringify(d).slice(0, 200)} should fail with ${code}, got ok ${JSON.stringify(res).slice(0, 300)}`);
  } catch (e) {
    if (e.code === 'ERR_ASSERTION') throw e;
    assert.equal(e.code, code, `${op} ${JSON.stringify(d).slice(0, 200)}: ${e.message}`);
    if (messageRe) assert.match(e.d.message, messageRe, `${op}: message`);
    return e.d;
  }
}

// ---------------------------------------------------------------------------------------------
// Shapes from CONTRACT.md "Issue 4 additions".
const RFC3339 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;
const ID = (p) => new RegExp(`^${p}_[1-9][0-9]*$`);

function assertInvite(inv, expect = {}) {
  const s = JSON.stringify(inv);
  assert.ok(inv && typeof inv === 'object', `invite: ${s}`);
  assert.match(inv.id, ID('i'), `invite.id: ${s}`);
  assert.match(inv.group, ID('g'), `invite.group: ${s}`);
  assert.equal(typeof inv.email, 'string', `invite.email: ${s}`);
  assert.match(inv.inviter, ID('u'), `invite.inviter: ${s}`);
  assert.ok(['pending', 'accepted', 'declined', 'revoked', 'expired'].includes(inv.state), `invite.state: ${s}`);
  assert.match(inv.created, RFC3339, `invite.created: ${s}`);
  assert.match(inv.expires, RFC3339, `invite.expires: ${s}`);
  assert.ok(Date.parse(inv.expires) > Date.parse(inv.created), `expires after created: ${s}`);
  assert.ok(inv.delivery && typeof inv.delivery === 'object', `invite.delivery: ${s}`);
  assert.ok(['queued', 'sent', 'failed'].includes(inv.delivery.status), `delivery.status: ${s}`);
  assert.ok(Number.isInteger(inv.delivery.attempts) && inv.delivery.attempts >= 0, `delivery.attempts: ${s}`);
  assert.ok(inv.delivery.last_error === null || typeof inv.delivery.last_error === 'string', `delivery.last_error: ${s}`);
  assert.ok('message_id' in inv.delivery, `delivery.message_id missing: ${s}`);
  assert.ok(!('code' in inv), `an Invite must not carry its code: ${s}`);
  for (const [k, v] of Object.entries(expect)) {
    if (k === 'status') assert.equal(inv.delivery.status, v, `delivery.status: ${s}`);
    else assert.equal(inv[k], v, `invite.${k}: ${s}`);
  }
  return inv;
}

/** Strip <> from a Message-ID. */
const bareId = (m) => (m == null ? m : String(m).trim().replace(/^<|>$/g, ''));

/** The invite link and code in a mail part. */
function findInviteLinks(text, publicUrl) {
  const esc = publicUrl.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  const re = new RegExp(`${esc}/\\?invite=([A-Za-z0-9_-]+)`, 'g');
  const out = [];
  for (const m of String(text || '').matchAll(re)) out.push({ url: m[0], code: m[1] });
  return out;
}

/** From a parsed invite mail: {code, link} (checked: same link in both parts, 43-char base64url). */
function inviteCodeFromMail(mail, publicUrl = PUBLIC_URL) {
  const t = findInviteLinks(mail.parsed && mail.parsed.text, publicUrl);
  const hl = findInviteLinks(mail.parsed && mail.parsed.html, publicUrl);
  assert.ok(t.length >= 1, `no ${publicUrl}/?invite=<code> link in the text part:\n${mail.parsed && mail.parsed.text}`);
  assert.ok(hl.length >= 1, `no ${publicUrl}/?invite=<code> link in the html part:\n${mail.parsed && mail.parsed.html}`);
  const code = t[0].code;
  assert.match(code, /^[A-Za-z0-9_-]{43}$/, `invite code is not 43 chars of base64url: ${code}`);
  for (const l of [...t, ...hl]) assert.equal(l.code, code, 'every link in the mail carries the same code');
  return { code, link: t[0].url };
}

/** Poll invite.list (WS client) until the invite with id matches pred. -> the invite */
async function waitInvite(client, group, id, pred, timeoutMs = MAIL_WAIT_MS, what = 'invite state') {
  let last = null;
  try {
    return await h.until(async () => {
      const { invites } = await client.request('invite.list', { group });
      last = invites.find((i) => i.id === id) || null;
      return last && pred(last) ? last : null;
    }, timeoutMs, what);
  } catch (e) {
    e.message += `; last seen: ${JSON.stringify(last)}`;
    throw e;
  }
}

/** Poll admin.invites.list until the invite with id matches pred. */
async function waitAdminInvite(srv, adminToken, id, pred, timeoutMs = MAIL_WAIT_MS, filter = {}) {
  let last = null;
  try {
    return await h.until(async () => {
      const b = await ok(srv, 'admin.invites.list', { limit: 100, ...filter }, adminToken);
      last = b.invites.find((i) => i.id === id) || null;
      return last && pred(last) ? last : null;
    }, timeoutMs, `admin.invites.list ${id}`);
  } catch (e) {
    e.message += `; last seen: ${JSON.stringify(last)}`;
    throw e;
  }
}

// ---------------------------------------------------------------------------------------------
// JWT (the Twilio access token)
function decodeJwt(token) {
  const parts = String(token).split('.');
  assert.equal(parts.length, 3, `a JWT has three parts: ${token}`);
  const dec = (p) => JSON.parse(Buffer.from(p, 'base64url').toString('utf8'));
  return { header: dec(parts[0]), payload: dec(parts[1]), signature: parts[2], signingInput: `${parts[0]}.${parts[1]}` };
}

function hs256Valid(token, secret) {
  const { signingInput, signature } = decodeJwt(token);
  const mac = crypto.createHmac('sha256', secret).update(signingInput).digest('base64url');
  return mac.length === signature.length && crypto.timingSafeEqual(Buffer.from(mac), Buffer.from(signature));
}

/**
 * The token the official `twilio` npm package builds for the same inputs, at the same iat
 * (Date.now is pinned to iat while it signs).
 */
function twilioReferenceToken({ accountSid, apiKey, apiSecret, identity, room, iat, ttl = 3600 }) {
  const twilio = require('twilio');
  const { AccessToken } = twilio.jwt;
  const { VideoGrant } = AccessToken;
  const realNow = Date.now;
  Date.now = () => iat * 1000;
  try {
    const t = new AccessToken(accountSid, apiKey, apiSecret, { identity, ttl });
    t.addGrant(new VideoGrant({ room }));
    return t.toJwt();
  } finally {
    Date.now = realNow;
  }
}

module.exports = {
  PUBLIC_URL,
  MAIL_WAIT_MS,
  RFC3339,
  ID,
  missingSchemaList,
  schemaCoverageTest,
  freePort,
  closedPort,
  startNatter,
  cli,
  makeAdmin,
  adminLogin,
  setupAdmin,
  ok,
  assertRestError,
  wsError,
  assertInvite,
  bareId,
  findInviteLinks,
  inviteCodeFromMail,
  waitInvite,
  waitAdminInvite,
  decodeJwt,
  hs256Valid,
  twilioReferenceToken,
};
