'use strict';
// Natter v1 JSON Schemas (proto/schema/*.json) loaded into Ajv (draft 2020-12), with one validator
// per op and per event. Every validate* function returns null when the value is valid, or a
// readable error string ("message.send request: /cid must match pattern ...").
//
//   const S = require('./lib/schemas');
//   S.validateRequest('message.send', d)     the `d` of a client request
//   S.validateResult('message.send', d)      the `d` of the ok that answers it (validateOk is the same)
//   S.validateEvent('message.created', d)    the `d` of a server event
//   S.validateServerFrame(frame[, op])       any server frame: hello, ok, error, pong or an event;
//                                            pass the op an ok answers to check its result too
//   S.validateClientFrame(frame)             a whole client frame {op, id, d}
//   S.validateRest(op, body)                 a REST answer body: {"ok":true,...result} or the error envelope
//   S.splitFrame(text)                       one WebSocket message -> its JSON objects (split on "\n")
//   S.index                                  proto/schema/index.json
const fs = require('node:fs');
const path = require('node:path');
const Ajv2020 = require('ajv/dist/2020');
const addFormats = require('ajv-formats');

const schemaDir = path.resolve(__dirname, '../../../proto/schema');
const BASE = 'https://natter.local/schema/';
const NON_SCHEMA = new Set(['index.json']);

const index = JSON.parse(fs.readFileSync(path.join(schemaDir, 'index.json'), 'utf8'));
const files = fs.readdirSync(schemaDir).filter((f) => f.endsWith('.json') && !NON_SCHEMA.has(f)).sort();
const schemas = Object.fromEntries(files.map((f) => [f, JSON.parse(fs.readFileSync(path.join(schemaDir, f), 'utf8'))]));

const ajv = new Ajv2020({ strict: true, strictRequired: false, allErrors: true, allowUnionTypes: true, verbose: true });
addFormats(ajv);
for (const f of files) ajv.addSchema(schemas[f]);

const compiled = new Map();
function validatorFor(ref) {
  let v = compiled.get(ref);
  if (!v) {
    v = ajv.getSchema(BASE + ref);
    if (!v) throw new Error(`no schema ${ref}`);
    compiled.set(ref, v);
  }
  return v;
}

// Ajv errors -> one line. "if" failures only repeat what the "then" branch says, so they are dropped.
function formatErrors(errors) {
  const seen = new Set();
  const out = [];
  for (const e of errors || []) {
    if (e.keyword === 'if') continue;
    let msg = `${e.instancePath || '/'} ${e.message}`;
    if (e.keyword === 'additionalProperties') msg += ` (${e.params.additionalProperty})`;
    if (e.keyword === 'enum') msg += ` (${e.params.allowedValues.join(', ')})`;
    if (e.keyword === 'const') msg += ` (${JSON.stringify(e.params.allowedValue)})`;
    if (e.keyword === 'not') {
      const why = (e.schema && e.schema.description) || (e.parentSchema && e.parentSchema.description);
      if (why) msg = `${e.instancePath || '/'}: ${why}`;
    }
    if (!seen.has(msg)) { seen.add(msg); out.push(msg); }
  }
  return out.join('; ') || 'invalid';
}

function check(ref, value, what) {
  const v = validatorFor(ref);
  return v(value) ? null : `${what}: ${formatErrors(v.errors)}`;
}

function validateRequest(op, d) {
  const e = index.ops[op];
  if (!e) return `unknown op ${JSON.stringify(op)}`;
  return check(e.request, d === undefined ? {} : d, `${op} request`);
}

function validateResult(op, d) {
  const e = index.ops[op];
  if (!e) return `unknown op ${JSON.stringify(op)}`;
  if (!e.result) return `${op} has no ok result (it answers with ${e.reply === 'pong' ? 'a pong frame' : 'nothing'})`;
  return check(e.result, d, `${op} result`);
}

function validateEvent(op, d) {
  const f = index.events[op];
  if (!f) return `unknown event ${JSON.stringify(op)}`;
  return check(f, d, `${op} event`);
}

const FRAME_DEFS = { hello: 'HelloFrame', ok: 'OkFrame', error: 'ErrorFrame', pong: 'PongFrame' };

// A whole server frame. For an ok frame, `op` (the op it answers) also checks d against that result.
function validateServerFrame(frame, op) {
  if (frame === null || typeof frame !== 'object' || Array.isArray(frame)) return 'server frame: not a JSON object';
  if (typeof frame.op !== 'string') return 'server frame: op missing or not a string';
  const def = FRAME_DEFS[frame.op] || (index.events[frame.op] ? 'EventFrame' : null);
  if (!def) return `server frame: unknown op ${JSON.stringify(frame.op)}`;
  const err = check(`envelope.server.json#/$defs/${def}`, frame, `${frame.op} frame`);
  if (err) return err;
  if (frame.op === 'ok' && op !== undefined) return validateResult(op, frame.d);
  return null;
}

function validateClientFrame(frame) {
  return check('envelope.client.json', frame, `client frame${frame && typeof frame.op === 'string' ? ` ${frame.op}` : ''}`);
}

// A REST answer body for POST /api/v1/<op>. The error envelope is the same for every path (an
// unknown op gets a 404 not_found envelope too); a success body must be the result of a REST op.
function validateRest(op, body) {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) return `${op} REST body: not a JSON object`;
  if (body.ok === false) return check('defs.json#/$defs/RestError', body, `${op} REST error`);
  if (body.ok !== true) return `${op} REST body: "ok" must be true or false`;
  const e = index.ops[op];
  if (!e) return `${op} REST body: ok:true for an unknown op`;
  if (!e.rest) return `${op} is not a REST op`;
  const { ok, ...result } = body;
  return validateResult(op, result);
}

// One WebSocket message may hold several JSON objects, one per line.
function splitFrame(text) {
  const s = Buffer.isBuffer(text) ? text.toString('utf8') : String(text);
  return s.split('\n').filter((line) => line.trim() !== '').map((line) => JSON.parse(line));
}

// ---- OpenAPI: the same schemas as OpenAPI 3.1 components (used by 00-schemas.test.js to check that
// proto/openapi.yaml's components/schemas match these files, so the two cannot drift apart).
const pascal = (s) => s.split(/[._-]/).map((w) => w.charAt(0).toUpperCase() + w.slice(1)).join('');
function componentName(file) {
  const m = /^(.*)\.(request|result|event)\.json$/.exec(file);
  if (m) return pascal(m[1]) + pascal(m[2]);
  return pascal(file.replace(/\.json$/, ''));
}
function toComponent(node, file) {
  if (Array.isArray(node)) return node.map((n) => toComponent(n, file));
  if (node === null || typeof node !== 'object') return node;
  const out = {};
  for (const [k, v] of Object.entries(node)) {
    if (k === '$schema' || k === '$id' || k === '$defs') continue;
    if (k === '$ref') {
      const [f, frag] = v.split('#');
      const target = f || file;
      let name;
      if (frag && frag.startsWith('/$defs/')) {
        if (target !== 'defs.json') throw new Error(`${file}: $ref ${v}: only defs.json may hold $defs`);
        name = frag.slice('/$defs/'.length);
      } else if (!frag) {
        name = componentName(target);
      } else throw new Error(`${file}: unsupported $ref ${v}`);
      out.$ref = `#/components/schemas/${name}`;
      continue;
    }
    out[k] = toComponent(v, file);
  }
  return out;
}
// Components for every schema reachable from the REST ops' requests and results.
function openapiComponents() {
  const all = {};
  for (const [name, s] of Object.entries(schemas['defs.json'].$defs)) all[name] = { file: 'defs.json', schema: s };
  for (const f of files) if (f !== 'defs.json') all[componentName(f)] = { file: f, schema: schemas[f] };
  const out = {};
  const visit = (name) => {
    if (out[name]) return;
    const e = all[name];
    if (!e) throw new Error(`no component ${name}`);
    out[name] = toComponent(e.schema, e.file);
    JSON.stringify(out[name], (k, v) => {
      if (k === '$ref') visit(v.replace('#/components/schemas/', ''));
      return v;
    });
  };
  for (const e of Object.values(index.ops)) {
    if (!e.rest) continue;
    visit(componentName(e.request));
    visit(componentName(e.result));
  }
  visit('RestOk');
  visit('RestError');
  return Object.fromEntries(Object.keys(out).sort().map((k) => [k, out[k]]));
}

module.exports = {
  ajv, index, schemas, schemaDir, files,
  validateRequest, validateResult, validateOk: validateResult, validateEvent,
  validateServerFrame, validateClientFrame, validateRest, splitFrame, formatErrors,
  componentName, openapiComponents,
};
