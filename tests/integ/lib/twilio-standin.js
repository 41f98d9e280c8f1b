'use strict';
// A loopback stand-in for Twilio Video v1 (https://video.twilio.com), checked against Twilio's own
// OpenAPI description (../shared/data/twilio_video_v1.json):
//   - the method and path must be an operation of the spec;
//   - POST bodies must be application/x-www-form-urlencoded, and every form parameter a property
//     of that operation's request schema, in its exact case, with a valid value (enums, integers,
//     booleans, uris); required parameters present; GET query parameters likewise;
//   - HTTP Basic auth with the configured API key SID and secret (else 401 with Twilio's error JSON).
// It implements the Rooms resource: POST /v1/Rooms (201), GET /v1/Rooms (list), GET /v1/Rooms/{Sid}
// (Sid or UniqueName of an in-progress room), POST /v1/Rooms/{Sid} Status=completed (202). The answers
// are built per the spec's video.v1.room schema, and are themselves validated against it.
// A duplicate in-progress UniqueName gets 400 {code:53113, message:"Room exists", more_info, status}.
//
//   const tw = await TwilioStandin.start();           // tw.baseUrl, tw.accountSid, tw.apiKey, tw.apiSecret
//   startServer({args: tw.natterArgs()})
//   tw.requests          every request: {method, path, query, form, headers, op, status, errors:[]}
//   tw.violations        every validation failure (tests assert it stays empty)
//   tw.fail = 500        answer every request with this 5xx (null: normal service)
//   tw.hostileSid = 'x'  answer CreateRoom with this sid instead of a real one (a broken or
//                        hostile answer, outside the spec: the server must not take it)
//   tw.complete(sid)     end a room as Twilio would (status completed)

const crypto = require('node:crypto');
const fs = require('node:fs');
const http = require('node:http');
const path = require('node:path');
const { after } = require('node:test');
const Ajv = require('ajv');
const addFormats = require('ajv-formats');

const SPEC_FILE = process.env.TWILIO_VIDEO_SPEC
  || [path.resolve(__dirname, '../../../../shared/data/twilio_video_v1.json'),
    '/work/shared/data/twilio_video_v1.json'].find((f) => fs.existsSync(f));

let specCache = null;
function loadSpec() {
  if (specCache) return specCache;
  if (!SPEC_FILE || !fs.existsSync(SPEC_FILE)) throw new Error('twilio_video_v1.json not found (set TWILIO_VIDEO_SPEC)');
  const spec = JSON.parse(fs.readFileSync(SPEC_FILE, 'utf8'));
  const ajv = new Ajv({ strict: false, allErrors: true, validateFormats: true });
  addFormats(ajv);
  ajv.addFormat('http-method', /^(GET|POST|PUT|DELETE|HEAD|PATCH|OPTIONS)$/);
  ajv.addFormat('uri-map', true);
  ajv.addFormat('int64', true);
  ajv.addSchema({ $id: 'twilio-video-v1', components: spec.components });
  // Path templates -> regexps, in spec order; literal segments win over parameters.
  const routes = Object.keys(spec.paths).map((tpl) => {
    const names = [];
    const re = new RegExp(`^${tpl.replace(/\{([^}]+)\}/g, (_, n) => (names.push(n), '([^/]+)'))}$`);
    return { tpl, re, names, item: spec.paths[tpl] };
  });
  specCache = { spec, ajv, routes };
  return specCache;
}

function resolveRef(spec, s) {
  let n = s;
  for (let i = 0; n && n.$ref && i < 10; i++) {
    const parts = n.$ref.replace(/^#\//, '').split('/');
    n = parts.reduce((o, k) => (o ? o[k] : undefined), spec);
  }
  return n;
}

/** Check one form/query string value against an OpenAPI parameter schema. -> error string or null */
function checkValue(spec, schema, value, name) {
  const s = resolveRef(spec, schema) || {};
  if (s.enum && !s.enum.includes(value)) return `${name}=${JSON.stringify(value)} is not one of ${s.enum.join(', ')}`;
  switch (s.type) {
    case 'integer':
      if (!/^-?\d+$/.test(value)) return `${name}=${JSON.stringify(value)} is not an integer`;
      if (s.minimum !== undefined && Number(value) < s.minimum) return `${name}=${value} < ${s.minimum}`;
      if (s.maximum !== undefined && Number(value) > s.maximum) return `${name}=${value} > ${s.maximum}`;
      break;
    case 'boolean':
      if (value !== 'true' && value !== 'false') return `${name}=${JSON.stringify(value)} is not true/false`;
      break;
    case 'array':
      return checkValue(spec, s.items || {}, value, name);
    case 'string':
      if (s.format === 'uri') {
        try {
          new URL(value); // eslint-disable-line no-new
        } catch {
          return `${name}=${JSON.stringify(value)} is not a URI`;
        }
      }
      break;
    default:
      break;
  }
  return null;
}

/** Validate a parsed parameter list [[name, value]...] against a set of spec properties. */
function checkParams(spec, props, required, pairs, where) {
  const errors = [];
  const seen = new Map();
  for (const [k, v] of pairs) {
    if (!Object.prototype.hasOwnProperty.call(props, k)) {
      const near = Object.keys(props).find((p) => p.toLowerCase() === k.toLowerCase());
      errors.push(`${where} parameter ${JSON.stringify(k)} is not defined by the spec${near ? ` (did you mean ${near}?)` : ''}`);
      continue;
    }
    seen.set(k, (seen.get(k) || 0) + 1);
    const ps = resolveRef(spec, props[k]) || {};
    if (seen.get(k) > 1 && ps.type !== 'array') errors.push(`${where} parameter ${k} given ${seen.get(k)} times`);
    const e = checkValue(spec, props[k], v, k);
    if (e) errors.push(`${where} ${e}`);
  }
  for (const r of required || []) if (!seen.has(r)) errors.push(`${where} required parameter ${r} is missing`);
  return errors;
}

const hex = (n) => crypto.randomBytes(n).toString('hex');
const twDate = (ms) => new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z'); // Twilio: no fractions

const instances = new Set();
after(async () => {
  await Promise.all([...instances].map((s) => s.stop().catch(() => {})));
});

class TwilioStandin {
  constructor(opts = {}) {
    this.accountSid = opts.accountSid || `AC${hex(16)}`;
    this.apiKey = opts.apiKey || `SK${hex(16)}`;
    this.apiSecret = opts.apiSecret || crypto.randomBytes(24).toString('base64url');
    this.requests = [];
    this.violations = [];
    this.rooms = new Map(); // sid -> room JSON
    this.fail = null; // e.g. 500 or 503: answer everything with it
    this.hostileSid = null; // a sid outside Twilio's shape, for CreateRoom's answer
    this.delayMs = 0;
    this.port = 0;
    this.server = null;
    this.sockets = new Set();
    this.waiters = new Set();
    loadSpec();
  }

  static async start(opts = {}) {
    const s = new TwilioStandin(opts);
    instances.add(s);
    await s._listen(opts.port || 0);
    return s;
  }

  get baseUrl() {
    return `http://127.0.0.1:${this.port}`;
  }

  natterArgs() {
    return ['--twilio-base-url', this.baseUrl, '--twilio-account-sid', this.accountSid,
      '--twilio-api-key', this.apiKey, '--twilio-api-secret', this.apiSecret];
  }

  _listen(port) {
    const server = http.createServer((req, res) => this._handle(req, res));
    server.on('connection', (s) => {
      this.sockets.add(s);
      s.on('close', () => this.sockets.delete(s));
    });
    return new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => {
        server.removeListener('error', reject);
        this.server = server;
        this.port = server.address().port;
        resolve(this);
      });
    });
  }

  stop() {
    const server = this.server;
    if (!server) return Promise.resolve();
    this.server = null;
    for (const s of this.sockets) s.destroy();
    return new Promise((r) => server.close(() => r()));
  }

  /** Requests that match pred (e.g. r => r.method === 'POST' && r.path === '/v1/Rooms'). */
  find(pred) {
    return this.requests.filter(pred);
  }

  waitForRequest(pred, timeoutMs = Number(process.env.NATTER_TEST_WAIT_MS || 10000), what = 'request') {
    return new Promise((resolve, reject) => {
      const w = {
        check: () => {
          const m = this.requests.find(pred);
          if (m) {
            done();
            resolve(m);
          }
        },
      };
      const timer = setTimeout(() => {
        done();
        reject(new Error(`twilio stand-in: no ${what} within ${timeoutMs} ms; saw: ${this.requests.map((r) => `${r.method} ${r.url} -> ${r.status}`).join(', ')}`));
      }, timeoutMs);
      const done = () => {
        clearTimeout(timer);
        this.waiters.delete(w);
      };
      this.waiters.add(w);
      w.check();
    });
  }

  /** End a room as Twilio does when it empties or times out. */
  complete(sid) {
    const r = this.rooms.get(sid);
    if (!r) throw new Error(`no room ${sid}`);
    const now = Date.now();
    r.status = 'completed';
    r.end_time = twDate(now);
    r.date_updated = twDate(now);
    r.duration = Math.max(0, Math.round((now - Date.parse(r.date_created)) / 1000));
  }

  inProgress(uniqueName) {
    for (const r of this.rooms.values()) if (r.status === 'in-progress' && r.unique_name === uniqueName) return r;
    return null;
  }

  _error(res, rec, status, code, message, extraHeaders = {}) {
    const body = { code, message, more_info: `https://www.twilio.com/docs/errors/${code}`, status };
    this._send(res, rec, status, body, extraHeaders);
  }

  _send(res, rec, status, body, extraHeaders = {}) {
    rec.status = status;
    rec.response = body;
    const text = JSON.stringify(body);
    res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text),
      'twilio-request-id': `RQ${hex(16)}`, ...extraHeaders });
    res.end(text);
    for (const w of this.waiters) w.check();
  }

  _checkResponse(rec, op, status, body) {
    const { spec, ajv } = loadSpec();
    const resp = op.responses && op.responses[String(status)];
    if (!resp) {
      rec.errors.push(`stand-in bug: status ${status} is not a documented response of ${op.operationId}`);
      return;
    }
    const schema = resp.content && resp.content['application/json'] && resp.content['application/json'].schema;
    if (!schema) return;
    const ref = schema.$ref ? `twilio-video-v1${schema.$ref}` : null;
    const v = ref ? ajv.getSchema(ref) : ajv.compile(JSON.parse(JSON.stringify(schema).replace(/"#\/components/g, '"twilio-video-v1#/components')));
    if (!v(body)) rec.errors.push(`stand-in bug: ${op.operationId} answer breaks the spec: ${ajv.errorsText(v.errors)}`);
    void spec;
  }

  _roomJson(sid, uniqueName, type, now) {
    const base = this.baseUrl;
    return {
      account_sid: this.accountSid,
      date_created: twDate(now),
      date_updated: twDate(now),
      status: 'in-progress',
      type,
      sid,
      enable_turn: true,
      unique_name: uniqueName,
      max_concurrent_published_tracks: type === 'group' ? 170 : 0,
      max_participants: type === 'group' ? 50 : 10,
      max_participant_duration: 14400,
      duration: null,
      status_callback_method: 'POST',
      status_callback: null,
      record_participants_on_connect: false,
      video_codecs: ['VP8', 'H264'],
      media_region: 'us1',
      audio_only: false,
      empty_room_timeout: 5,
      unused_room_timeout: 5,
      end_time: null,
      large_room: false,
      url: `${base}/v1/Rooms/${sid}`,
      links: {
        participants: `${base}/v1/Rooms/${sid}/Participants`,
        recordings: `${base}/v1/Rooms/${sid}/Recordings`,
        transcriptions: `${base}/v1/Rooms/${sid}/Transcriptions`,
        recording_rules: `${base}/v1/Rooms/${sid}/RecordingRules`,
      },
    };
  }

  _handle(req, res) {
    const chunks = [];
    req.on('data', (b) => chunks.push(b));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      const u = new URL(req.url, this.baseUrl);
      const rec = {
        at: Date.now(), method: req.method, url: req.url, path: u.pathname,
        query: [...u.searchParams.entries()], headers: req.headers, body, form: null, op: null,
        status: null, response: null, errors: [],
      };
      this.requests.push(rec);
      const finish = () => {
        try {
          this._route(req, res, rec, u, body);
        } catch (e) {
          rec.errors.push(`stand-in threw: ${e.stack}`);
          if (!res.headersSent) this._error(res, rec, 500, 20500, 'Internal Server Error');
        }
        for (const e of rec.errors) this.violations.push(`${rec.method} ${rec.url}: ${e}`);
      };
      if (this.delayMs) setTimeout(finish, this.delayMs);
      else finish();
    });
  }

  _route(req, res, rec, u, body) {
    const { spec, routes } = loadSpec();
    // 1. The operation must exist in the spec.
    const route = routes.find((r) => r.re.test(u.pathname));
    if (!route) {
      rec.errors.push(`path ${u.pathname} is not in Twilio Video v1`);
      return this._error(res, rec, 404, 20404, `The requested resource ${u.pathname} was not found`);
    }
    const method = req.method.toLowerCase();
    const op = route.item[method];
    if (!op) {
      rec.errors.push(`${req.method} is not an operation of ${route.tpl}`);
      return this._error(res, rec, 405, 20004, 'Method not allowed');
    }
    rec.op = op.operationId;
    const m = route.re.exec(u.pathname);
    const pathParams = Object.fromEntries(route.names.map((n, i) => [n, decodeURIComponent(m[i + 1])]));

    // 2. HTTP Basic with the API key SID and secret.
    const auth = req.headers.authorization || '';
    const mm = /^Basic ([A-Za-z0-9+/=]+)$/.exec(auth);
    let user = null;
    let pass = null;
    if (mm) {
      const dec = Buffer.from(mm[1], 'base64').toString('utf8');
      const i = dec.indexOf(':');
      if (i >= 0) {
        user = dec.slice(0, i);
        pass = dec.slice(i + 1);
      }
    }
    if (user !== this.apiKey || pass !== this.apiSecret) {
      rec.errors.push(!mm ? `no HTTP Basic Authorization (got ${JSON.stringify(auth.slice(0, 40))})`
        : `Basic credentials are not APIKEY:SECRET (user ${JSON.stringify(user)})`);
      return this._error(res, rec, 401, 20003, 'Authenticate', { 'www-authenticate': 'Basic realm="Twilio API"' });
    }

    // 3. Parameters: path, query, and the form body, exactly as the spec names them.
    for (const p of op.parameters || []) {
      if (p.in === 'path') {
        const e = checkValue(spec, p.schema, pathParams[p.name], p.name);
        if (e) rec.errors.push(`path ${e}`);
      }
    }
    const queryProps = Object.fromEntries((op.parameters || []).filter((p) => p.in === 'query').map((p) => [p.name, p.schema]));
    rec.errors.push(...checkParams(spec, queryProps, (op.parameters || []).filter((p) => p.in === 'query' && p.required).map((p) => p.name), rec.query, 'query'));
    let form = [];
    if (method === 'post') {
      const ct = (req.headers['content-type'] || '').split(';')[0].trim().toLowerCase();
      const rb = op.requestBody && op.requestBody.content && op.requestBody.content['application/x-www-form-urlencoded'];
      if (ct !== 'application/x-www-form-urlencoded') {
        rec.errors.push(`Content-Type is ${JSON.stringify(req.headers['content-type'] || null)}, not application/x-www-form-urlencoded`);
      } else if (/[^A-Za-z0-9%+\-._~=&*]/.test(body)) {
        rec.errors.push(`form body is not properly percent-encoded: ${JSON.stringify(body.slice(0, 200))}`);
      }
      form = [...new URLSearchParams(body).entries()];
      rec.form = Object.fromEntries(form);
      if (rb) {
        const schema = resolveRef(spec, rb.schema) || {};
        rec.errors.push(...checkParams(spec, schema.properties || {}, schema.required || [], form, 'form'));
      } else if (body.length) {
        rec.errors.push(`${op.operationId} takes no body, got ${JSON.stringify(body.slice(0, 200))}`);
      }
    } else if (body.length) {
      rec.errors.push(`${req.method} with a body: ${JSON.stringify(body.slice(0, 200))}`);
    }
    if (rec.errors.length) {
      return this._error(res, rec, 400, 20001, `Invalid request: ${rec.errors.join('; ')}`);
    }

    // 4. Injected faults.
    if (this.fail) {
      return this._error(res, rec, this.fail, this.fail === 503 ? 20503 : 20500,
        this.fail === 503 ? 'Service Unavailable' : 'Internal Server Error');
    }

    // 5. The Rooms resource.
    const f = Object.fromEntries(form);
    const now = Date.now();
    switch (op.operationId) {
      case 'CreateRoom': {
        const type = f.Type || 'group';
        if (f.UniqueName !== undefined && this.inProgress(f.UniqueName)) {
          return this._error(res, rec, 400, 53113, 'Room exists');
        }
        const sid = `RM${hex(16)}`;
        const room = this._roomJson(sid, f.UniqueName !== undefined ? f.UniqueName : sid, type, now);
        if (this.hostileSid !== null) return this._send(res, rec, 201, { ...room, sid: this.hostileSid });
        this.rooms.set(sid, room);
        this._checkResponse(rec, op, 201, room);
        return this._send(res, rec, 201, room);
      }
      case 'FetchRoom': {
        const key = pathParams.Sid;
        const room = /^RM[0-9a-fA-F]{32}$/.test(key) ? this.rooms.get(key) : this.inProgress(key);
        if (!room) return this._error(res, rec, 404, 20404, `The requested resource ${u.pathname} was not found`);
        this._checkResponse(rec, op, 200, room);
        return this._send(res, rec, 200, room);
      }
      case 'UpdateRoom': {
        const key = pathParams.Sid;
        const room = /^RM[0-9a-fA-F]{32}$/.test(key) ? this.rooms.get(key) : this.inProgress(key);
        if (!room) return this._error(res, rec, 404, 20404, `The requested resource ${u.pathname} was not found`);
        if (f.Status !== 'completed') return this._error(res, rec, 400, 53105, 'Room status update is invalid');
        if (room.status === 'in-progress') this.complete(room.sid);
        this._checkResponse(rec, op, 202, room);
        return this._send(res, rec, 202, room);
      }
      case 'ListRoom': {
        const q = Object.fromEntries(rec.query);
        const status = q.Status || 'in-progress';
        const rooms = [...this.rooms.values()].filter((r) => r.status === status
          && (q.UniqueName === undefined || r.unique_name === q.UniqueName));
        const pageSize = Number(q.PageSize || 50);
        const url = `${this.baseUrl}/v1/Rooms?PageSize=${pageSize}&Page=0`;
        const answer = {
          rooms: rooms.slice(0, pageSize),
          meta: { page: 0, page_size: pageSize, first_page_url: url, previous_page_url: null, url, next_page_url: null, key: 'rooms' },
        };
        this._checkResponse(rec, op, 200, answer);
        return this._send(res, rec, 200, answer);
      }
      default:
        rec.errors.push(`${op.operationId} is in the spec but Natter has no reason to call it`);
        return this._error(res, rec, 501, 20500, `${op.operationId} is not implemented by the stand-in`);
    }
  }
}

module.exports = { TwilioStandin, loadSpec };
