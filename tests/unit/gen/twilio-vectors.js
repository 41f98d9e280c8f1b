#!/usr/bin/env node
// twilio-vectors.js: writes tests/unit/twilio_vectors.json, the expected Twilio Access Tokens that
// test_twilio.c must reproduce byte for byte. Each token is minted by the npm `twilio` package
// (AccessToken + VideoGrant, which sign through `jsonwebtoken`) with Date.now() stubbed, since both
// libraries read the clock there. Each is checked here too, with jsonwebtoken.verify and a plain
// node:crypto HMAC, so the file never records a token the libraries would not accept.
// Run it from anywhere once `twilio` resolves: `npm ci` at the repo root (package.json pins it),
// or NODE_PATH=<a scratch dir>/node_modules after `npm install twilio` there:
//   node tests/unit/gen/twilio-vectors.js
'use strict';

const crypto = require('node:crypto');
const fs = require('node:fs');
const path = require('node:path');

let twilio, jwt;
try {
    twilio = require('twilio');
    jwt = require('jsonwebtoken'); // twilio's own dependency: resolves wherever twilio does
} catch (e) {
    console.error('twilio-vectors: cannot load the npm `twilio` package (' + e.message + ').\n' +
                  'Install it (npm install twilio) and set NODE_PATH to its node_modules.');
    process.exit(1);
}
const AccessToken = twilio.jwt.AccessToken;
const { VideoGrant } = AccessToken;

const ACCOUNT = 'AC' + '0123456789abcdef0123456789abcdef';
const KEY = 'SK' + 'fedcba9876543210fedcba9876543210';
const SECRET = 'Xk3pQ9rT1vW5yZ7bD2fH4jL6nP8sU0wA'; // the 32-character shape Twilio issues

// The first is the brief's vector. The others cover what a C port could get wrong: JSON escaping
// of quotes, backslashes, slashes and UTF-8; a secret longer than SHA-256's block (HMAC hashes it
// first); an iat past 2038 (beyond a 32-bit int); the shortest ttl.
const cases = [
    { name: 'video-room', identity: 'u_7', room: 'natter-abcd1234-r_3', iat: 1795000000,
      ttl: 3600 },
    { name: 'escaping-utf8',
      identity: 'Ada "the" \\ Lovelace / é ü 日本 😀', room: 'room/with "quotes" and \\',
      iat: 1795000000, ttl: 86400 },
    { name: 'long-secret', identity: 'u_12345678901234567890', room: 'natter-ffffffff-r_99',
      iat: 1795000123, ttl: 600, secret: 'long-secret-'.repeat(12) + 'ß€' },
    { name: 'after-2038', identity: 'u_1', room: 'natter-00000000-r_1', iat: 4102444800, ttl: 1 },
];

const realNow = Date.now;
const vectors = cases.map((c) => {
    const secret = c.secret || SECRET;
    const at = new AccessToken(ACCOUNT, KEY, secret, { identity: c.identity, ttl: c.ttl });
    at.addGrant(new VideoGrant({ room: c.room }));
    Date.now = () => c.iat * 1000;
    let token;
    try {
        token = at.toJwt();
    } finally {
        Date.now = realNow;
    }

    // Independent checks: the library's own verifier, and HMAC-SHA256 over header.payload.
    jwt.verify(token, secret, { algorithms: ['HS256'], clockTimestamp: c.iat });
    const [h, p, s] = token.split('.');
    const mac = crypto.createHmac('sha256', Buffer.from(secret, 'utf8')).update(h + '.' + p)
        .digest('base64url');
    if (mac !== s)
        throw new Error(c.name + ': signature is not HMAC-SHA256(secret, header.payload)');
    const payload = JSON.parse(Buffer.from(p, 'base64url').toString('utf8'));
    if (payload.iat !== c.iat || payload.exp !== c.iat + c.ttl || payload.jti !== KEY + '-' + c.iat)
        throw new Error(c.name + ': the clock stub did not take');

    return {
        name: c.name, account_sid: ACCOUNT, api_key_sid: KEY, api_secret: secret,
        identity: c.identity, room: c.room, iat: c.iat, ttl: c.ttl,
        header: Buffer.from(h, 'base64url').toString('utf8'),
        payload: Buffer.from(p, 'base64url').toString('utf8'),
        token,
    };
});

const version = (pkg) => require(require.resolve(pkg + '/package.json', {
    paths: [path.dirname(require.resolve('twilio'))],
})).version;
const out = {
    generator: 'tests/unit/gen/twilio-vectors.js',
    twilio: version('twilio'),
    jsonwebtoken: version('jsonwebtoken'),
    vectors,
};
const file = path.join(__dirname, '..', 'twilio_vectors.json');
fs.writeFileSync(file, JSON.stringify(out, null, 2) + '\n');
console.log('wrote ' + vectors.length + ' vectors to ' + file);
