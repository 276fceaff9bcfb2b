// server.mjs: test-only implementations of RFC 9421 HTTP Message Signatures and of
// Standard Webhooks that are not ztkit, for ztkit's interop tests (package siginterop in
// this directory drives it). It wraps two npm packages, pinned by package-lock.json:
//   - http-message-signatures (dhensby/node-http-message-signatures): RFC 9421 sign and
//     verify, with its own built-in signers and verifiers (node:crypto);
//   - standardwebhooks (the Standard Webhooks project's official JavaScript library): v1
//     (HMAC-SHA256) sign and verify.
// scripts/test installs them (npm ci) and starts this program; it is never part of the
// library.
//
// It serves plain HTTP on 127.0.0.1 (the subject is the signature, not TLS). It holds no
// key and no state: each call carries the keys it needs, made by the Go test for that test
// only (PEM for public and private keys, base64 for HMAC secrets). Nothing here writes a
// key or a secret to a log or an answer.
//
//   GET  /healthz           {"http-message-signatures": version, "standardwebhooks": version}
//   ANY  /verify/...        verifies the RFC 9421 signatures of the request itself, as it
//                           arrived (method, http://Host + request target, every header
//                           field line, body). The header Ztkit-Interop carries the
//                           configuration as base64url JSON (it is never covered):
//                             {"keys": [{"keyid", "alg", "pem"|"secret"}],
//                              "tolerance": seconds, "requiredFields": [...], "requiredParams": [...]}
//                           Answer (200): {"results": [{"label", "verified", "error", "base"}],
//                             "contentDigest": {"sha-256"|"sha-512": true|false}}: one result per
//                           label of Signature-Input, each verified on its own by verifyMessage;
//                           base is the signature base the library computed ("" if it did not
//                           get that far); error is the library's error ("" when the signature
//                           was checked: verified then says whether it matched). contentDigest
//                           checks each Content-Digest member the request carries against the
//                           body it received (RFC 9530, node:crypto; the library does not).
//   POST /verify-message    the same for a message described in JSON, for responses:
//                           {"message": {"status", "headers"} | {"method", "url", "headers"},
//                            "request": {...} (for ;req components), "keys", "tolerance", ...}
//   POST /sign              signs a message described in JSON with signMessage:
//                           {"message": {"method", "url", "headers"} | {"status", "headers"},
//                            "request": {...} (for a response's ;req components),
//                            "key": {"alg", "pem"|"secret"}, "label", "fields": [...],
//                            "params": ["created", "expires", "nonce", "keyid", "alg", "tag"],
//                            "paramValues": {"created": unix, "expires": unix, "nonce", "keyid", "tag"},
//                            "pssSaltLength": 64 (omitted: the library's createSigner, whose
//                            RSA-PSS salt is node's default, the longest the key allows)}
//                           Answer: {"headers": {"Signature", "Signature-Input"}, "base"}
//   POST /webhook/sign      {"secret": "whsec_...", "id", "timestamp": unix, "payload": string}
//                           Answer: {"headers": {"webhook-id", "webhook-timestamp", "webhook-signature"}}
//   POST /webhook/verify    verifies the Standard Webhooks request itself (its webhook-* headers
//                           and its body as received); the header Ztkit-Interop carries
//                           {"secret": "whsec_..."} as base64url JSON.
//                           Answer (200): {"verified": true|false, "error"}
// A request this program cannot serve is answered 400 {"error"} (never with a key or a body).
//
// Environment:
//   SIGINTEROP_DIR   directory this program writes env into when it serves: shell exports
//                    of ZTKIT_TEST_SIGINTEROP_URL (written atomically)
//   SIGINTEROP_PORT  port to listen on; 0 or unset: any free port
import { createHash, createPrivateKey, createPublicKey, createSecretKey, sign as cryptoSign, constants } from 'node:crypto';
import { renameSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { createRequire } from 'node:module';
import { join } from 'node:path';

import hms from 'http-message-signatures';
import standardwebhooks from 'standardwebhooks';
import { parseDictionary, serializeDictionary } from 'structured-headers';

const { httpbis, createSigner, createVerifier } = hms;
const { Webhook } = standardwebhooks;

const dir = process.env.SIGINTEROP_DIR;
if (!dir) {
  console.error('siginterop: SIGINTEROP_DIR is not set');
  process.exit(2);
}
const port = Number(process.env.SIGINTEROP_PORT || 0);

const MAX_BODY = 1 << 20; // 1 MiB, like ztkit's default digest limit
const CONTROL = 'ztkit-interop';

const require = createRequire(import.meta.url);
const versions = {
  'http-message-signatures': require('http-message-signatures/package.json').version,
  standardwebhooks: require('standardwebhooks/package.json').version,
};

// BadRequest is an error whose message is safe to answer with (it holds no key or body).
class BadRequest extends Error {}

function readBody(req) {
  return new Promise((resolve, reject) => {
    const chunks = [];
    let n = 0;
    req.on('data', (c) => {
      n += c.length;
      if (n > MAX_BODY) {
        reject(new BadRequest(`body larger than ${MAX_BODY} bytes`));
        req.destroy();
        return;
      }
      chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

function parseJSON(buf, what) {
  try {
    return JSON.parse(buf.toString('utf8'));
  } catch {
    throw new BadRequest(`${what} is not JSON`);
  }
}

// control decodes the Ztkit-Interop header (base64url JSON).
function control(req) {
  const v = req.headers[CONTROL];
  if (!v) throw new BadRequest(`no ${CONTROL} header`);
  return parseJSON(Buffer.from(v, 'base64url'), `the ${CONTROL} header`);
}

// keyMaterial turns {"pem"} or {"secret"} into what node:crypto and the library take.
function keyMaterial(k, priv) {
  if (k.alg === 'hmac-sha256') {
    if (typeof k.secret !== 'string' || !k.secret) throw new BadRequest('hmac-sha256 needs a base64 secret');
    return createSecretKey(Buffer.from(k.secret, 'base64'));
  }
  if (typeof k.pem !== 'string') throw new BadRequest(`${k.alg} needs a PEM key`);
  try {
    return priv ? createPrivateKey(k.pem) : createPublicKey(k.pem);
  } catch {
    throw new BadRequest(`the ${k.alg} key is not a PEM key node:crypto reads`);
  }
}

// headersOf lists a received request's header fields, each with all its field line
// values in order (RFC 9421 §2.1 combines them), less the control header.
function headersOf(req) {
  const h = { ...req.headersDistinct };
  delete h[CONTROL];
  return h;
}

// splitLabels gives, for each label of Signature-Input, the message's headers with only
// that label in Signature-Input and Signature, so that verifyMessage (which reports one
// result for all labels) checks that signature alone.
function splitLabels(headers) {
  const get = (name) => {
    const e = Object.entries(headers).find(([k]) => k.toLowerCase() === name);
    if (!e) return undefined;
    return Array.isArray(e[1]) ? e[1].join(', ') : e[1];
  };
  const rest = Object.fromEntries(Object.entries(headers)
    .filter(([k]) => !['signature', 'signature-input'].includes(k.toLowerCase())));
  const inputRaw = get('signature-input');
  if (inputRaw === undefined) return [];
  let inputs;
  let sigs = new Map();
  try {
    inputs = parseDictionary(inputRaw);
  } catch (e) {
    return [{ label: '', headers, parseError: `Signature-Input: ${e.message}` }];
  }
  const sigRaw = get('signature');
  if (sigRaw !== undefined) {
    try {
      sigs = parseDictionary(sigRaw);
    } catch (e) {
      return [{ label: '', headers, parseError: `Signature: ${e.message}` }];
    }
  }
  return Array.from(inputs.entries()).map(([label, input]) => {
    const h = { ...rest, 'signature-input': serializeDictionary(new Map([[label, input]])) };
    if (sigs.has(label)) h.signature = serializeDictionary(new Map([[label, sigs.get(label)]]));
    return { label, headers: h };
  });
}

// verifyAll verifies each label of message on its own with verifyMessage, with the keys
// of cfg (looked up by keyid, each allowed its one alg).
async function verifyAll(cfg, message, req) {
  const keys = new Map();
  for (const k of cfg.keys ?? []) {
    if (!k.keyid || !k.alg) throw new BadRequest('every key needs a keyid and an alg');
    keys.set(k.keyid, { alg: k.alg, material: keyMaterial(k, false) });
  }
  const results = [];
  for (const { label, headers, parseError } of splitLabels(message.headers)) {
    if (parseError) {
      results.push({ label, verified: false, error: parseError, base: '' });
      continue;
    }
    let base = '';
    const keyLookup = async (params) => {
      const k = keys.get(params.keyid);
      if (!k) return null;
      const check = createVerifier(k.material, k.alg);
      return {
        id: params.keyid,
        algs: [k.alg],
        verify: async (data, signature, p) => {
          base = data.toString('utf8');
          return check(data, signature, p);
        },
      };
    };
    let verified = false;
    let error = '';
    try {
      const r = await httpbis.verifyMessage({
        keyLookup,
        tolerance: cfg.tolerance ?? 5,
        requiredFields: cfg.requiredFields ?? [],
        requiredParams: cfg.requiredParams ?? [],
        all: true,
      }, { ...message, headers }, req);
      verified = r === true;
      if (r === null) error = 'no signature verified (no key for its keyid?)';
    } catch (e) {
      error = `${e.name}: ${e.message}`;
    }
    results.push({ label, verified, error, base });
  }
  return results;
}

// contentDigest checks each sha-256 / sha-512 member of Content-Digest against body.
function contentDigest(headers, body) {
  const raw = headers['content-digest'];
  if (!raw) return {};
  const out = {};
  let dict;
  try {
    dict = parseDictionary(raw.join(', '));
  } catch {
    return { error: 'Content-Digest is not a structured dictionary' };
  }
  for (const [alg, [value]] of dict) {
    const h = { 'sha-256': 'sha256', 'sha-512': 'sha512' }[alg];
    if (!h || !(value instanceof ArrayBuffer)) continue;
    out[alg] = createHash(h).update(body).digest().equals(Buffer.from(value));
  }
  return out;
}

// signer makes the signing key for /sign: the library's createSigner, or, for
// rsa-pss-sha512 with pssSaltLength, a signer of our own with that salt length.
function signer(k, pssSaltLength) {
  if (!k || !k.alg) throw new BadRequest('key needs an alg');
  const material = keyMaterial(k, true);
  if (k.alg === 'rsa-pss-sha512' && pssSaltLength !== undefined) {
    if (!Number.isInteger(pssSaltLength)) throw new BadRequest('pssSaltLength must be an integer');
    return {
      alg: k.alg,
      sign: async (data) => cryptoSign('sha512', data, {
        key: material,
        padding: constants.RSA_PKCS1_PSS_PADDING,
        saltLength: pssSaltLength,
      }),
    };
  }
  return createSigner(material, k.alg);
}

async function sign(body) {
  const { message, request, key, label, fields, params, paramValues, pssSaltLength } = body;
  if (!message || typeof message.headers !== 'object') throw new BadRequest('message with headers needed');
  const base = { value: '' };
  const inner = signer(key, pssSaltLength);
  const recording = {
    alg: inner.alg,
    sign: async (data) => {
      base.value = data.toString('utf8');
      return inner.sign(data);
    },
  };
  const values = {};
  for (const [k, v] of Object.entries(paramValues ?? {})) {
    values[k] = (k === 'created' || k === 'expires') && typeof v === 'number' ? new Date(v * 1000) : v;
  }
  const signed = await httpbis.signMessage({
    key: recording,
    name: label,
    fields: fields ?? [],
    params: params ?? ['created', 'keyid', 'alg'],
    paramValues: values,
  }, message, request);
  const out = {};
  for (const [k, v] of Object.entries(signed.headers)) {
    if (['signature', 'signature-input'].includes(k.toLowerCase())) out[k] = v;
  }
  return { headers: out, base: base.value };
}

function webhookSign({ secret, id, timestamp, payload }) {
  if (typeof payload !== 'string' || !id || !Number.isInteger(timestamp)) {
    throw new BadRequest('id, timestamp (unix) and payload (string) needed');
  }
  const wh = newWebhook(secret);
  return {
    headers: {
      'webhook-id': id,
      'webhook-timestamp': String(timestamp),
      'webhook-signature': wh.sign(id, new Date(timestamp * 1000), payload),
    },
  };
}

function newWebhook(secret) {
  try {
    return new Webhook(secret);
  } catch {
    throw new BadRequest('standardwebhooks refused the secret');
  }
}

function webhookVerify(req, body) {
  const wh = newWebhook(control(req).secret);
  const headers = {};
  for (const [k, v] of Object.entries(headersOf(req))) headers[k] = v.join(', ');
  try {
    wh.verify(body, headers, { jsonParse: false });
    return { verified: true, error: '' };
  } catch (e) {
    return { verified: false, error: `${e.name}: ${e.message}` };
  }
}

async function handle(req) {
  const url = new URL(req.url, 'http://siginterop.invalid');
  const body = await readBody(req);
  if (req.method === 'GET' && url.pathname === '/healthz') return versions;
  if (url.pathname.startsWith('/verify/')) {
    const headers = headersOf(req);
    const message = { method: req.method, url: `http://${req.headers.host}${req.url}`, headers };
    return {
      results: await verifyAll(control(req), message),
      contentDigest: contentDigest(headers, body),
    };
  }
  if (req.method !== 'POST') throw new BadRequest(`no ${req.method} ${url.pathname}`);
  switch (url.pathname) {
    case '/verify-message': {
      const cfg = parseJSON(body, 'the body');
      if (!cfg.message || typeof cfg.message.headers !== 'object') throw new BadRequest('message with headers needed');
      return { results: await verifyAll(cfg, cfg.message, cfg.request) };
    }
    case '/sign':
      return sign(parseJSON(body, 'the body'));
    case '/webhook/sign':
      return webhookSign(parseJSON(body, 'the body'));
    case '/webhook/verify':
      return webhookVerify(req, body);
    default:
      throw new BadRequest(`no POST ${url.pathname}`);
  }
}

const server = createServer((req, res) => {
  const answer = (status, v) => {
    const b = JSON.stringify(v);
    res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(b) });
    res.end(b);
  };
  handle(req).then((v) => answer(200, v), (e) => {
    if (e instanceof BadRequest) {
      answer(400, { error: e.message });
    } else {
      // The library's errors name what failed, never a key.
      answer(500, { error: `${e.name}: ${e.message}` });
    }
  });
});

server.listen(port, '127.0.0.1', () => {
  const url = `http://127.0.0.1:${server.address().port}`;
  const envFile = join(dir, 'env');
  writeFileSync(`${envFile}.tmp`, `export ZTKIT_TEST_SIGINTEROP_URL='${url}'\n`, { mode: 0o600 });
  renameSync(`${envFile}.tmp`, envFile);
  console.log(`siginterop: http-message-signatures ${versions['http-message-signatures']}, `
    + `standardwebhooks ${versions.standardwebhooks}, listening on ${url}`);
});

server.on('error', (err) => {
  console.error('siginterop:', err.message);
  process.exit(1);
});

for (const sig of ['SIGTERM', 'SIGINT']) {
  process.on(sig, () => {
    server.close();
    server.closeAllConnections();
    process.exit(0);
  });
}
