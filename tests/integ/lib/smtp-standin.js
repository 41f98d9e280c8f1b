'use strict';
// A real SMTP server for the integration tests: npm `smtp-server` on 127.0.0.1, speaking STARTTLS
// with a self-signed certificate made at test time (Natter trusts it through --smtp-ca-file).
// STARTTLS is required before MAIL FROM: a client that tries MAIL in clear text gets 530 and is
// recorded as a violation. Every message is kept raw and parsed by mailparser's simpleParser.
//
//   const { SmtpStandin } = require('./lib/smtp-standin');
//   const smtp = await SmtpStandin.start();       // smtp.url, smtp.caFile, smtp.port
//   startServer({args: smtp.natterArgs()})
//   const m = await smtp.waitFor((m) => m.to.includes(email));   // {envelope, parsed, raw, ...}
//   smtp.mode = 'rcpt451' | 'reject' | 'ok';      // fail RCPT with 451, or refuse each session with 421
//   await smtp.stop(); await smtp.restart();      // "SMTP is down", then back on the same port
//
// Everything started here is stopped when the test file ends.

const { execFileSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { after } = require('node:test');
const { SMTPServer } = require('smtp-server');
const { simpleParser } = require('mailparser');

const WAIT_MS = Number(process.env.NATTER_TEST_WAIT_MS || 10000);
const instances = new Set();
after(async () => {
  await Promise.all([...instances].map((s) => s.stop().catch(() => {})));
  for (const s of instances) s.cleanup();
});

/** A self-signed certificate for CN=localhost with SANs DNS:localhost and IP:127.0.0.1. */
function makeCert(dir) {
  const keyFile = path.join(dir, 'key.pem');
  const certFile = path.join(dir, 'cert.pem');
  execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-subj', '/CN=localhost',
    '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1', '-days', '1',
    '-keyout', keyFile, '-out', certFile], { stdio: ['ignore', 'ignore', 'pipe'] });
  return { keyFile, certFile, key: fs.readFileSync(keyFile), cert: fs.readFileSync(certFile) };
}

class SmtpStandin {
  constructor() {
    this.dir = fs.mkdtempSync(path.join(os.tmpdir(), 'natter-smtp-'));
    const c = makeCert(this.dir);
    this.key = c.key;
    this.cert = c.cert;
    this.caFile = c.certFile;
    this.port = 0;
    this.server = null;
    this.mode = 'ok'; // 'ok' | 'rcpt451' | 'reject'
    this.failRcptLeft = 0; // refuse this many more RCPTs with 451, then accept again (failRcpt(n))
    this.holdData = false; // true: take the DATA but never answer it (the sender is stuck mid-send)
    this.held = []; // messages whose DATA was taken but never acknowledged (not delivered)
    this.messages = []; // {envelope:{from, to:[]}, parsed, raw, secure, tls, at}
    this.sessions = 0; // connections accepted
    this.secureSessions = 0; // connections that completed STARTTLS
    this.refusals = []; // {what, mode, at}: what this stand-in refused on purpose
    this.violations = []; // protocol misuse by the client (MAIL before STARTTLS, parse failure...)
    this.waiters = new Set();
    this.onAccepted = null; // (message) => void, called just after the 250 for its DATA is written
  }

  static async start(opts = {}) {
    const s = new SmtpStandin();
    instances.add(s);
    if (opts.mode) s.mode = opts.mode;
    await s._listen(0);
    return s;
  }

  get url() {
    return `smtp://127.0.0.1:${this.port}`;
  }

  /** The natter flags that point at this stand-in. */
  natterArgs() {
    return ['--smtp-url', this.url, '--smtp-ca-file', this.caFile];
  }

  get running() {
    return !!this.server;
  }

  _listen(port) {
    const self = this;
    const server = new SMTPServer({
      secure: false,
      key: this.key,
      cert: this.cert,
      hideSTARTTLS: false,
      authOptional: true,
      disabledCommands: ['AUTH'],
      name: 'smtp-standin.localhost',
      banner: 'natter test stand-in',
      logger: false,
      closeTimeout: 200,
      size: 10 * 1024 * 1024,
      onConnect(session, cb) {
        self.sessions++;
        if (self.mode === 'reject') {
          self.refusals.push({ what: 'connect', mode: self.mode, at: Date.now() });
          const e = new Error('Service not available, closing transmission channel (stand-in told to fail)');
          e.responseCode = 421;
          return cb(e);
        }
        return cb();
      },
      onSecure(socket, session, cb) {
        self.secureSessions++;
        cb();
      },
      onMailFrom(address, session, cb) {
        if (!session.secure) {
          self.violations.push(`MAIL FROM:<${address.address}> before STARTTLS`);
          const e = new Error('Must issue a STARTTLS command first');
          e.responseCode = 530;
          return cb(e);
        }
        return cb();
      },
      onRcptTo(address, session, cb) {
        let refuse = self.mode === 'rcpt451';
        if (self.failRcptLeft > 0) {
          self.failRcptLeft--;
          refuse = true;
        }
        if (!refuse) return cb();
        self.refusals.push({ what: `RCPT TO:<${address.address}>`, mode: self.mode, at: Date.now() });
        const e = new Error('Requested action aborted: local error in processing (stand-in told to fail)');
        e.responseCode = 451;
        return cb(e);
      },
      onData(stream, session, cb) {
        const chunks = [];
        stream.on('data', (b) => chunks.push(b));
        stream.on('error', (e) => cb(e));
        stream.on('end', async () => {
          const raw = Buffer.concat(chunks);
          const envelope = {
            from: session.envelope.mailFrom ? session.envelope.mailFrom.address : null,
            to: session.envelope.rcptTo.map((r) => r.address),
          };
          let parsed = null;
          try {
            parsed = await simpleParser(raw);
          } catch (e) {
            self.violations.push(`mailparser could not parse a message: ${e.message}`);
          }
          const m = { envelope, to: envelope.to.map((a) => a.toLowerCase()), parsed, raw, text: raw.toString('utf8'),
            secure: !!session.secure, at: Date.now() };
          if (self.holdData) {
            // Never answer: the sender sits between DATA and the 250 until it gives up or dies.
            self.held.push(m);
            for (const w of self.waiters) w.check();
            return;
          }
          self.messages.push(m);
          for (const w of self.waiters) w.check();
          cb(null, 'Message queued as stand-in');
          if (self.onAccepted) self.onAccepted(m); // right after the 250 went out
        });
      },
    });
    server.on('error', () => {}); // per-connection errors (a client that hangs up) are not failures
    return new Promise((resolve, reject) => {
      server.server.once('error', reject);
      server.listen(port, '127.0.0.1', () => {
        server.server.removeListener('error', reject);
        this.server = server;
        this.port = server.server.address().port;
        resolve(this);
      });
    });
  }

  /** Stop listening and cut every open session ("SMTP is down"). */
  stop() {
    const server = this.server;
    if (!server) return Promise.resolve();
    this.server = null;
    return new Promise((resolve) => {
      for (const c of server.connections) {
        try {
          c._socket.destroy();
        } catch {
          /* already gone */
        }
      }
      server.close(() => resolve());
    });
  }

  /** Listen again on the same port. */
  async restart() {
    await this.stop();
    // The port was ours a moment ago; retry briefly in case the kernel still holds it.
    for (let i = 0; ; i++) {
      try {
        await this._listen(this.port);
        return this;
      } catch (e) {
        if (i >= 50) throw e;
        await new Promise((r) => setTimeout(r, 100));
      }
    }
  }

  /** Refuse the next n RCPT TO commands with 451, then accept again. */
  failRcpt(n) {
    this.failRcptLeft = n;
  }

  /** Messages addressed (envelope RCPT) to this address. */
  to(address) {
    const a = address.toLowerCase();
    return this.messages.filter((m) => m.to.includes(a));
  }

  /** Wait until n messages match pred; resolves with the matches. */
  waitForCount(pred, n, timeoutMs = WAIT_MS, what = 'mail') {
    return new Promise((resolve, reject) => {
      const w = {
        check: () => {
          const m = this.messages.filter(pred);
          if (m.length >= n) {
            done();
            resolve(m);
          }
        },
      };
      const timer = setTimeout(() => {
        done();
        reject(new Error(`smtp stand-in: timeout after ${timeoutMs} ms waiting for ${what} (${this.messages.filter(pred).length}/${n}); `
          + `${this.messages.length} message(s) in all, ${this.sessions} session(s), ${this.secureSessions} with STARTTLS, `
          + `violations: ${JSON.stringify(this.violations)}`));
      }, timeoutMs);
      const done = () => {
        clearTimeout(timer);
        this.waiters.delete(w);
      };
      this.waiters.add(w);
      w.check();
    });
  }

  waitFor(pred, timeoutMs = WAIT_MS, what = 'mail') {
    return this.waitForCount(pred, 1, timeoutMs, what).then((l) => l[0]);
  }

  /** Wait for a mail to this address (the n-th one, default the first). */
  waitForTo(address, timeoutMs = WAIT_MS, n = 1) {
    const a = address.toLowerCase();
    return this.waitForCount((m) => m.to.includes(a), n, timeoutMs, `mail #${n} to ${address}`).then((l) => l[n - 1]);
  }

  cleanup() {
    fs.rmSync(this.dir, { recursive: true, force: true });
  }
}

module.exports = { SmtpStandin, makeCert };
