// A token issuer for the jwt middleware's tests, built on the npm package `jose`: it holds key
// pairs, signs tokens with them, and serves the public keys as a JWK set over HTTP.
//
//   node jwt_issuer.mjs [--port 0]
// First stdout line: {"port": N}. Endpoints (all JSON):
//   GET  /jwks                     the JWK set of the published keys; the answer's
//                                  Cache-Control is the last /config cacheControl
//   POST /keys {alg, kid, publish} makes a key pair (publish: into /jwks, default true);
//                                  answers {kid, publicPem, jwk}
//   POST /unpublish {kid}          takes a key out of /jwks (rotation)
//   POST /sign {kid, claims, header?, secret?, alg?}
//                                  a signed JWT (SignJWT): with `secret`, HS* over those bytes
//                                  (alg given); else with key `kid`. answers {token}
//   POST /config {cacheControl, status}  what /jwks answers (status 500: an outage)
//   GET  /stats                    {fetches}: how many times /jwks was asked
import http from 'node:http';
import * as jose from 'jose';

const args = process.argv.slice(2);
const port = Number(args[args.indexOf('--port') + 1] || 0);

const keys = new Map(); // kid → {alg, privateKey, jwk, published}
let cacheControl = 'max-age=300';
let jwksStatus = 200;
let fetches = 0;

async function makeKey({ alg, kid, publish = true, crv }) {
  const { publicKey, privateKey } = await jose.generateKeyPair(alg, { extractable: true, crv });
  const jwk = { ...(await jose.exportJWK(publicKey)), kid, alg, use: 'sig' };
  const publicPem = await jose.exportSPKI(publicKey);
  keys.set(kid, { alg, privateKey, jwk, published: publish });
  return { kid, publicPem, jwk };
}

async function sign({ kid, claims, header = {}, secret, alg }) {
  const jwt = new jose.SignJWT(claims);
  if (secret !== undefined) {
    jwt.setProtectedHeader({ alg: alg || 'HS256', ...header });
    return jwt.sign(new TextEncoder().encode(secret));
  }
  const key = keys.get(kid);
  if (!key) throw new Error(`no key ${kid}`);
  jwt.setProtectedHeader({ alg: key.alg, kid, ...header });
  return jwt.sign(key.privateKey);
}

function body(req) {
  return new Promise((resolve) => {
    let data = '';
    req.on('data', (c) => { data += c; });
    req.on('end', () => resolve(data ? JSON.parse(data) : {}));
  });
}

const server = http.createServer(async (req, res) => {
  const reply = (status, value, headers = {}) => {
    res.writeHead(status, { 'Content-Type': 'application/json', ...headers });
    res.end(JSON.stringify(value));
  };
  try {
    const url = new URL(req.url, 'http://x');
    if (req.method === 'GET' && url.pathname === '/jwks') {
      fetches += 1;
      if (jwksStatus !== 200) return reply(jwksStatus, { error: 'outage' });
      const published = [...keys.values()].filter((k) => k.published).map((k) => k.jwk);
      return reply(200, { keys: published }, { 'Cache-Control': cacheControl });
    }
    if (req.method === 'GET' && url.pathname === '/stats') return reply(200, { fetches });
    const input = await body(req);
    if (url.pathname === '/keys') return reply(200, await makeKey(input));
    if (url.pathname === '/unpublish') {
      keys.get(input.kid).published = false;
      return reply(200, {});
    }
    if (url.pathname === '/sign') return reply(200, { token: await sign(input) });
    if (url.pathname === '/config') {
      if (input.cacheControl !== undefined) cacheControl = input.cacheControl;
      if (input.status !== undefined) jwksStatus = input.status;
      return reply(200, {});
    }
    reply(404, { error: 'unknown' });
  } catch (e) {
    reply(500, { error: String(e) });
  }
});

server.listen(port, '127.0.0.1', () => {
  console.log(JSON.stringify({ port: server.address().port }));
});
process.on('SIGTERM', () => process.exit(0));
