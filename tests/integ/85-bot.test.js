'use strict';
// The example bot (examples/bot/roll-bot.js) against the real server (issue 4): it identifies with
// a bot token from admin.bots.create, answers "/roll NdM", is rate-limited like a person, resumes
// after a server restart and stops for good on 4002/4003.
const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const { spawn } = require('node:child_process');
const path = require('node:path');
const h = require('./lib/harness');
const o = require('./lib/outbound');

const skip = h.binaryMissing();
const T = { timeout: 150000 };
const BOT = path.join(h.REPO, 'examples/bot/roll-bot.js');
let srv;
let admin;
let owner; // {…user, c}
let group;
let room;
let bot; // {bot:{id,name,email}, token}
const procs = new Set();

before(async () => {
  if (skip) return;
  srv = await o.startNatter({ limits: { send_per_s: 1, send_burst: 1 } });
  admin = await o.setupAdmin(srv, 'Bot Admin');
  owner = await h.signup(srv, 'Dice Player');
  owner.c = await h.connectAs(srv, owner, 'Player');
  group = await h.makeGroup(owner.c, [], 'Board Games');
  room = group.rooms[0].id;
  bot = await o.ok(srv, 'admin.bots.create', { name: 'Roller', groups: [group.id] }, admin.adminToken);
});

after(() => {
  for (const p of procs) if (p.exitCode === null && p.signalCode === null) p.kill('SIGKILL');
});

/** Start roll-bot.js with a token. -> {proc, out(), exited (promise of {code, signal})} */
function runBot(token, label = 'bot') {
  const proc = spawn(process.execPath, [BOT], {
    env: { ...process.env, NATTER_URL: srv.url, NATTER_TOKEN: token },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  procs.add(proc);
  const log = [];
  const onData = (b) => {
    log.push(b.toString());
    if (process.env.NATTER_TEST_VERBOSE) process.stderr.write(`[${label}] ${b}`);
  };
  proc.stdout.on('data', onData);
  proc.stderr.on('data', onData);
  const exited = new Promise((resolve) => proc.on('exit', (code, signal) => resolve({ code, signal })));
  return { proc, out: () => log.join(''), exited };
}

async function waitLog(b, re, timeoutMs = h.WAIT_MS, what = String(re)) {
  try {
    await h.until(() => re.test(b.out()), timeoutMs, what);
  } catch (e) {
    e.message += `; bot output:\n${b.out()}`;
    throw e;
  }
}

const fromBot = (after) => (e) => e.op === 'message.created' && e.d.actor === bot.bot.id && e.d.room === room && e.d.seq > after;

/** Parse "🎲 NdM: a + b = s" / "🎲 1dM: a"; checks every die and the sum. */
function checkRoll(body, n, m) {
  const re = n === 1 ? new RegExp(`^🎲 1d${m}: (\\d+)$`) : new RegExp(`^🎲 ${n}d${m}: ([\\d + ]+) = (\\d+)$`);
  const x = re.exec(body);
  assert.ok(x, `a ${n}d${m} answer: ${JSON.stringify(body)}`);
  const dice = x[1].split(' + ').map(Number);
  assert.equal(dice.length, n);
  for (const d of dice) assert.ok(Number.isInteger(d) && d >= 1 && d <= m, `die ${d} out of 1..${m}`);
  if (n > 1) assert.equal(dice.reduce((a, b) => a + b, 0), Number(x[2]), 'the sum adds up');
}

let main; // the long-running bot process

test('the bot identifies with its token and answers "/roll 2d6" in the group within a few seconds', { skip, ...T }, async () => {
  main = runBot(bot.token, 'roll-bot');
  await waitLog(main, /identified as u_\d+/, 20000, 'the bot to identify');
  assert.match(main.out(), new RegExp(`identified as ${bot.bot.id}\\b`));
  const ack = await h.say(owner.c, room, '/roll 2d6');
  const t0 = Date.now();
  const ev = await owner.c.waitFor(fromBot(ack.seq), 10000, 'the bot\'s answer');
  assert.ok(Date.now() - t0 < 10000);
  checkRoll(ev.d.msg.body, 2, 6);
  assert.equal(ev.d.msg.cid, `roll-${room}-${ack.seq}`, 'the cid is derived from the command');
  await h.sleep(1100); // send_per_s=1 for the human too
  const ack2 = await h.say(owner.c, room, '/roll');
  checkRoll((await owner.c.waitFor(fromBot(ack2.seq), 10000)).d.msg.body, 1, 6);
  await h.sleep(1100);
  const ack3 = await h.say(owner.c, room, '/roll 3d1000');
  checkRoll((await owner.c.waitFor(fromBot(ack3.seq), 10000)).d.msg.body, 3, 1000);
  await h.sleep(1100);
  const ack4 = await h.say(owner.c, room, 'nice weather for dice');
  assert.equal((await owner.c.collect(fromBot(ack4.seq), 2000)).length, 0, 'no answer to ordinary chat');
  await h.sleep(1100);
  const ack5 = await h.say(owner.c, room, '/roll 99d6');
  const usage = await owner.c.waitFor(fromBot(ack5.seq), 10000);
  assert.match(usage.d.msg.body, /usage/);
});

test('the bot is rate limited like a person (send_per_s=1, send_burst=1): pushed, it gets rate_limited and paces its answers', { skip, ...T }, async () => {
  assert.ok(main, 'the bot from the previous test is running');
  // Directly, with the bot's own token: the second quick send is rate_limited.
  const direct = await h.connect(srv, { token: bot.token, label: 'bot-direct' });
  await h.sleep(1200);
  const r = await Promise.allSettled([h.say(direct, room, 'one'), h.say(direct, room, 'two')]);
  assert.equal(r[0].status, 'fulfilled', JSON.stringify(r[0].reason && r[0].reason.message));
  assert.equal(r[1].status, 'rejected');
  assert.equal(r[1].reason.code, 'rate_limited');
  assert.ok(r[1].reason.d.retry_after_ms > 0);
  direct.close();
  await h.sleep(1200);

  // Three people ask at once: the bot's three answers cannot all go out in the same second.
  const people = [];
  for (const n of ['P1', 'P2', 'P3']) {
    const u = await h.signup(srv, n);
    await owner.c.request('member.add', { group: group.id, email: u.email });
    u.c = await h.connectAs(srv, u, n);
    people.push(u);
  }
  await h.sleep(1200);
  const acks = await Promise.all(people.map((u) => h.say(u.c, room, '/roll 2d6')));
  const from = Math.min(...acks.map((a) => a.seq)) - 1;
  const answers = await owner.c.waitForCount(fromBot(from), 3, 20000, 'three paced answers');
  for (const a of answers) checkRoll(a.d.msg.body, 2, 6);
  assert.deepEqual(answers.map((a) => a.d.msg.cid).sort(), acks.map((a) => `roll-${room}-${a.seq}`).sort(), 'one answer per command');
  const ts = answers.map((a) => Date.parse(a.d.ts)).sort((x, y) => x - y);
  assert.ok(ts[2] - ts[0] >= 1500, `the server let the bot post 3 answers within ${ts[2] - ts[0]} ms at 1/s`);
  await waitLog(main, /rate_limited/, 5000, 'the bot to report rate_limited');
  await h.sleep(2000);
  assert.equal(owner.c.events.filter(fromBot(from)).length, 3, 'no duplicate answers after the retries');
  for (const u of people) u.c.close();
});

test('the bot reconnects with backoff and resumes after a server restart, answering commands it missed', { skip, ...T }, async () => {
  assert.ok(main, 'the bot from the first test is running');
  const identifiedBefore = (main.out().match(/identified as/g) || []).length;
  owner.c.close();
  await srv.restart();
  // While the bot is still backing off, a command goes in.
  owner.c = await h.connectAs(srv, owner, 'Player2');
  const ack = await h.say(owner.c, room, '/roll 4d8');
  const ev = await owner.c.waitFor(fromBot(ack.seq), 40000, 'an answer after the restart');
  checkRoll(ev.d.msg.body, 4, 8);
  assert.match(main.out(), /reconnecting in \d+ ms/);
  assert.ok((main.out().match(/identified as/g) || []).length > identifiedBefore, 'identified again (resume)');
  assert.equal(main.proc.exitCode, null, 'still running');
});

test('the bot stops for good on 4003 (its token revoked) and on 4002 (a bad token)', { skip, ...T }, async () => {
  const issued = await o.ok(srv, 'admin.bots.token.issue', { user: bot.bot.id }, admin.adminToken);
  const second = runBot(issued.token, 'roll-bot-2');
  await waitLog(second, /identified as/, 20000, 'the second bot process to identify');
  await o.ok(srv, 'admin.bots.token.revoke', { token_id: issued.token_id }, admin.adminToken);
  const ex = await Promise.race([second.exited, h.sleep(15000).then(() => null)]);
  assert.ok(ex, `the bot must exit after 4003; output:\n${second.out()}`);
  assert.equal(ex.code, 3);
  assert.match(second.out(), /4003/);
  assert.doesNotMatch(second.out(), /reconnecting in/, 'no reconnect after 4003');

  const bad = runBot('A'.repeat(43), 'roll-bot-bad');
  const ex2 = await Promise.race([bad.exited, h.sleep(15000).then(() => null)]);
  assert.ok(ex2, `the bot must exit after an invalid token; output:\n${bad.out()}`);
  assert.equal(ex2.code, 3);
  assert.match(bad.out(), /4002/);
  // The first bot is unaffected.
  await h.sleep(1100);
  const ack = await h.say(owner.c, room, '/roll 1d20');
  checkRoll((await owner.c.waitFor(fromBot(ack.seq), 10000)).d.msg.body, 1, 20);
});

test('SIGTERM stops the bot cleanly', { skip, ...T }, async () => {
  assert.ok(main);
  main.proc.kill('SIGTERM');
  const ex = await Promise.race([main.exited, h.sleep(10000).then(() => null)]);
  assert.ok(ex, 'exited');
  assert.equal(ex.code, 0);
});

o.schemaCoverageTest(test, skip);
