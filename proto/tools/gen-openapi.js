'use strict';
// The generator of proto/openapi.yaml, and its source of truth: run `node proto/tools/gen-openapi.js`
// after proto/tools/gen-schemas.js. Components come from proto/schema via tests/integ/lib/schemas.js;
// examples come from the tagged examples in proto/PROTOCOL.md.
const fs = require('fs');
const path = require('path');
const ROOT = path.resolve(__dirname, '../..');
const YAML = require('yaml');
const S = require(path.join(ROOT, 'tests/integ/lib/schemas.js'));

const md = fs.readFileSync(path.join(ROOT, 'proto/PROTOCOL.md'), 'utf8');
const examples = [];
for (const m of md.matchAll(/<!-- example: ([^>]*?) -->\s*\n```(json|jsonl)\n([\s\S]*?)\n```/g)) {
  const [kind, op] = m[1].trim().split(/\s+/);
  examples.push({ kind, op, text: m[3] });
}
const firstEx = (kind, op, pred = () => true) => {
  const e = examples.find((x) => x.kind === kind && x.op === op && pred(JSON.parse(x.text)));
  return e ? JSON.parse(e.text) : undefined;
};

const camel = (op) => op.split('.').map((w, i) => (i ? w[0].toUpperCase() + w.slice(1) : w)).join('');
const ERRORS = [
  ['400', 'BadRequest', 'bad_request: malformed body, missing or malformed field, value out of range.'],
  ['401', 'Unauthorized', 'unauthorized: missing, invalid or expired Bearer token; wrong credentials; spent refresh token.'],
  ['403', 'Forbidden', "forbidden: not a member, role too low, the DM is read-only, an invite for another address, or the token's audience does not fit the op (an admin-audience token on a chat op)."],
  ['404', 'NotFound', 'not_found: no such group, room, message, user, invite or call (or unknown op).'],
  ['409', 'Conflict', 'conflict: the request clashes with the current state.'],
  ['413', 'TooLarge', 'too_large: message body over max_body, or request body over max_http_body.'],
  ['429', 'RateLimited', 'rate_limited: over a rate limit; wait error.retry_after_ms.'],
  ['500', 'Internal', 'internal: a server fault (temporary).'],
  ['503', 'Unavailable', 'unavailable: the server is starting, stopping or overloaded, or an outside service (Twilio) failed or is not configured (temporary).'],
];
// The admin ops answer 403 for any token but an admin-audience token of a server admin.
const ADMIN_FORBIDDEN = ['AdminForbidden',
  'forbidden: the token is not an admin-audience token (auth.login with audience "admin") of a server admin: a chat token, a bot token, or the admin was demoted.'];
const ERR_EXAMPLE = {
  BadRequest: { code: 'bad_request', message: 'room: must be a room id', temporary: false },
  Unauthorized: { code: 'unauthorized', message: 'invalid token', temporary: false },
  Forbidden: { code: 'forbidden', message: 'not a member of r_2', temporary: false },
  NotFound: { code: 'not_found', message: 'no such room', temporary: false },
  Conflict: { code: 'conflict', message: 'already a member', temporary: false },
  TooLarge: { code: 'too_large', message: 'body over 4000 characters', temporary: false },
  RateLimited: { code: 'rate_limited', message: 'slow down', temporary: true, retry_after_ms: 400 },
  Internal: { code: 'internal', message: 'internal error', temporary: true },
  Unavailable: { code: 'unavailable', message: 'shutting down', temporary: true },
  AdminForbidden: { code: 'forbidden', message: "this token's audience cannot call this operation", temporary: false },
};

const TAGS = [
  ['auth', 'Sign up, log in, refresh and log out; reset a forgotten password by mail. Tokens: PASETO v4.public access tokens (15 min) and rotating opaque refresh tokens.'],
  ['profile', 'Your profile and those of the people you share a group or DM with.'],
  ['groups', 'Groups: create, list, rename, delete, leave.'],
  ['members', 'Group membership and roles (owner, admin, member).'],
  ['rooms', 'Rooms of a group, and direct-message rooms.'],
  ['messages', "Messages, a room's history, read markers."],
  ['invites', 'Invitations to a group by email: create, list, revoke; accept or decline your own.'],
  ['calls', "Video calls on Twilio: one call per room; join for an access token, leave when done."],
  ['admin', 'The admin API: REST only, with an admin-audience token (auth.login with audience "admin"). Invites in bulk, users, groups, bots and their tokens, and the audit log.'],
  ['health', 'Liveness, readiness and metrics.'],
];

// Where each op is described in proto/PROTOCOL.md.
const section = (op, e) => (e.admin ? 17 : e.tag === 'invites' ? 13 : op.startsWith('auth.reset.') ? 14 : e.tag === 'calls' ? 15 : 6);

const paths = {};
for (const [op, e] of Object.entries(S.index.ops)) {
  if (!e.rest) continue;
  const reqSchema = S.schemas[e.request];
  const reqName = S.componentName(e.request);
  const resName = S.componentName(e.result);
  const reqEx = firstEx('rest-request', op) || (firstEx('request', op) || {}).d;
  const okFrame = firstEx('ok', op);
  const resEx = firstEx('rest-response', op, (b) => b.ok === true) || (okFrame && { ok: true, ...okFrame.d });
  const operation = {
    operationId: camel(op),
    summary: e.summary,
    description: `The \`${op}\` operation (proto/PROTOCOL.md, section ${section(op, e)}). The body is the op's \`d\`; `
      + `the answer is \`{"ok":true, ...result}\` or the error envelope.`
      + (e.admin ? ' REST only (over the WebSocket it is an unknown op); needs an admin-audience token, and answers 403 to any other.' : ''),
    tags: [e.tag],
    ...(e.auth ? {} : { security: [] }),
    ...(e.admin ? { security: [{ adminBearer: [] }] } : {}),
    requestBody: {
      required: (reqSchema.required || []).length > 0,
      content: { 'application/json': { schema: { $ref: `#/components/schemas/${reqName}` }, ...(reqEx ? { example: reqEx } : {}) } },
    },
    responses: {
      200: {
        description: `Success: \`ok: true\` and the ${op} result.`,
        content: {
          'application/json': {
            schema: { allOf: [{ $ref: '#/components/schemas/RestOk' }, { $ref: `#/components/schemas/${resName}` }] },
            ...(resEx ? { example: resEx } : {}),
          },
        },
      },
      ...Object.fromEntries(ERRORS.map(([code, name]) => [code, {
        $ref: `#/components/responses/${e.admin && code === '403' ? ADMIN_FORBIDDEN[0] : name}`,
      }])),
    },
  };
  paths[`/api/v1/${op}`] = { post: operation };
}

const json200 = (description, example) => ({
  description,
  content: { 'application/json': { schema: { $ref: '#/components/schemas/HealthOk' }, example } },
});
paths['/healthz'] = { get: {
  operationId: 'healthz', summary: 'Liveness: 200 while the process runs.', tags: ['health'], security: [],
  responses: { 200: json200('The process is up.', { ok: true }) },
} };
paths['/readyz'] = { get: {
  operationId: 'readyz', summary: 'Readiness: 200 when the store is open and the server accepts work.', tags: ['health'], security: [],
  responses: {
    200: json200('Ready.', { ok: true }),
    503: { description: 'Not ready (starting, stopping, or the store is not open).' },
  },
} };
paths['/metrics'] = { get: {
  operationId: 'metrics', summary: 'Prometheus metrics in the text exposition format.', tags: ['health'], security: [],
  responses: { 200: { description: 'Metrics.', content: { 'text/plain': { schema: { type: 'string' },
    example: '# TYPE natter_connections gauge\nnatter_connections 3\n' } } } },
} };

const components = {
  securitySchemes: {
    bearer: {
      type: 'http', scheme: 'bearer', bearerFormat: 'PASETO',
      description: 'A chat-audience PASETO v4.public access token from auth.signup, auth.login or auth.refresh (valid 15 minutes), '
        + 'or a bot token (opaque, from admin.bots.create or admin.bots.token.issue). Admin-audience tokens get 403 here.',
    },
    adminBearer: {
      type: 'http', scheme: 'bearer', bearerFormat: 'PASETO',
      description: 'An admin-audience access token: auth.login with "audience":"admin", by a server admin (`natter admin make-admin EMAIL` '
        + 'makes the first one). It works only on the admin.* paths; chat and bot tokens get 403 there.',
    },
  },
  schemas: {
    ...S.openapiComponents(),
    HealthOk: { type: 'object', required: ['ok'], properties: { ok: { const: true } } },
  },
  responses: Object.fromEntries([...ERRORS, ['403', ...ADMIN_FORBIDDEN]].map(([code, name, description]) => [name, {
    description,
    content: { 'application/json': { schema: { $ref: '#/components/schemas/RestError' }, example: { ok: false, error: ERR_EXAMPLE[name] } } },
  }])),
};

const doc = {
  openapi: '3.1.0',
  info: {
    title: 'Natter REST API',
    version: '0.1.0',
    summary: 'The REST door of the Natter v1 protocol.',
    description: [
      'Every Natter operation except the session ops (identify, resume, ping, typing) can be called over HTTP as',
      '`POST /api/v1/<op>`, with the op\'s `d` as the JSON body and `Authorization: Bearer <access token>`',
      '(except auth.signup, auth.login, auth.refresh, auth.reset.request and auth.reset.confirm). The answer is `{"ok":true, ...result}` with HTTP 200, or',
      '`{"ok":false,"error":{"code","message","temporary"[,"retry_after_ms"]}}` with the status of its code:',
      '400 bad_request, 401 unauthorized, 403 forbidden, 404 not_found, 409 conflict, 413 too_large,',
      '429 rate_limited, 500 internal, 503 unavailable.',
      '',
      'The admin ops (`/api/v1/admin.*`, tag admin) are REST only and need an admin-audience token (auth.login with',
      '`"audience":"admin"`, server admins only); every other op needs a chat-audience access token or a bot token.',
      'A token of the wrong audience gets 403 forbidden.',
      '',
      'Also: an unknown op gets 404 not_found; a method other than POST on /api/v1/* gets 405 (code bad_request);',
      'a chunked request body gets 411; a body over max_http_body (64 KiB) gets 413. Unknown request fields are ignored;',
      'results may gain fields later. Events are only delivered over the WebSocket (GET /v1/ws).',
      'The full protocol, with the WebSocket, is proto/PROTOCOL.md; the JSON Schemas are proto/schema/.',
    ].join('\n'),
    license: { name: 'MIT', identifier: 'MIT' },
  },
  servers: [{ url: 'http://localhost:8080', description: 'A local server (the default --listen is 127.0.0.1:8080).' }],
  security: [{ bearer: [] }],
  tags: TAGS.map(([name, description]) => ({ name, description })),
  paths,
  components,
};

const header = '# Natter REST API (OpenAPI 3.1). The REST door of proto/PROTOCOL.md.\n'
  + '# components/schemas mirror proto/schema/*.json; tests/integ/00-schemas.test.js checks that they match\n'
  + '# (tests/integ/lib/schemas.js openapiComponents() gives the expected form), and lints this file.\n';
const ydoc = new YAML.Document(doc, { aliasDuplicateObjects: false });
// Quote strings that a YAML 1.1 parser would read as timestamps or numbers.
YAML.visit(ydoc, { Scalar(_, node) { if (typeof node.value === 'string' && /^[0-9]{4}-[0-9]{2}-[0-9]{2}T/.test(node.value)) node.type = 'QUOTE_DOUBLE'; } });
fs.writeFileSync(path.join(ROOT, 'proto/openapi.yaml'), header + ydoc.toString({ lineWidth: 0 }));
console.log('wrote proto/openapi.yaml');
