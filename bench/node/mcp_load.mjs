// Load client of the MCP gateway benchmark (bench/mcp_gateway): concurrent MCP sessions, each
// doing tools/call round trips back to back over Streamable HTTP, with plain node:http (no SDK,
// so that the client stays cheap).
//
//   node mcp_load.mjs --url http://127.0.0.1:PORT/mcp [--host H] [--sessions N] [--warmup S]
//                     [--duration S] [--max-calls N] [--tool echo] [--timeout-ms MS]
//                     [--stateless] [--expect TEXT]
//   node mcp_load.mjs --url ... [--host H] [--stateless] [--expect TEXT] --probe
//
// Each session has its own keep-alive connection (an http.Agent with one socket). It sends
// initialize (2025-11-25) and, when the answer carries an Mcp-Session-Id, notifications/initialized
// and that id (and MCP-Protocol-Version) on every later request, then loops POST tools/call
// {name: echo, arguments: {text}} with `Accept: application/json, text/event-stream`, reading the
// answer whole, JSON or SSE, and checking that it is the echo ("<server name>:<text>").
// --stateless: no initialize, no session (a stateless server): every request carries only
// MCP-Protocol-Version 2025-11-25, and no DELETE at the end.
// --expect TEXT: the server gives a fixed answer (bench/mcp_gateway's nginx fake): a call is good
// when its answer is a result whose first content item's text is TEXT, whatever the answer's
// JSON-RPC id (the fake always answers id 1); JSON-RPC errors still count as errors.
// The first --warmup seconds are not recorded; at their end the client prints
// {"phase": "measure"} (the harness samples the gateway's CPU then); the calls that end in the
// next --duration seconds are recorded. No call starts after that window, nor once --max-calls
// have started. Then it prints one JSON line
//   {"calls", "errors", "p50_ms", "p90_ms", "p99_ms", "seconds", "first_error"}
// (calls = successful calls ended in the window, latencies in milliseconds over them), and ends
// the sessions (DELETE). A failed call (connection error, timeout, non-200, JSON-RPC error or a
// wrong answer) counts as an error and the session goes on.
//
// --probe: one session, one echo call and one call of tool `add` {a: 1, b: 2}; prints
// {"echo": true|false, "add": "result" | <JSON-RPC error code> | "failed: ..."} (a gateway policy
// that allows only echo answers add with -32003).
import http from 'node:http';

function parseArgs(argv) {
  const o = { url: null, host: null, sessions: 64, warmup: 2, duration: 10, maxCalls: 1e9, tool: 'echo',
              timeoutMs: 10000, probe: false, stateless: false, expect: null };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const next = () => {
      if (i + 1 >= argv.length) usage(`${a} needs a value`);
      return argv[++i];
    };
    if (a === '--url') o.url = next();
    else if (a === '--host') o.host = next();
    else if (a === '--sessions') o.sessions = Number(next());
    else if (a === '--warmup') o.warmup = Number(next());
    else if (a === '--duration') o.duration = Number(next());
    else if (a === '--max-calls') o.maxCalls = Number(next());
    else if (a === '--tool') o.tool = next();
    else if (a === '--timeout-ms') o.timeoutMs = Number(next());
    else if (a === '--probe') o.probe = true;
    else if (a === '--stateless') o.stateless = true;
    else if (a === '--expect') o.expect = next();
    else usage(`unknown argument ${a}`);
  }
  if (!o.url) usage('--url is required');
  return o;
}

function usage(msg) {
  process.stderr.write(`mcp_load.mjs: ${msg}\n`);
  process.exit(2);
}

const opts = parseArgs(process.argv.slice(2));
const target = new URL(opts.url);
const PROTOCOL = '2025-11-25';

// One POST (or DELETE) on the session's agent: resolves {status, headers, body} or rejects.
function request(agent, method, headers, body) {
  return new Promise((resolve, reject) => {
    const h = { Accept: 'application/json, text/event-stream', ...headers };
    if (opts.host) h.Host = opts.host;
    if (body !== undefined) {
      h['Content-Type'] = 'application/json';
      h['Content-Length'] = Buffer.byteLength(body);
    }
    const req = http.request({ agent, host: target.hostname, port: target.port, path: target.pathname + target.search,
                               method, headers: h });
    req.setTimeout(opts.timeoutMs, () => req.destroy(new Error(`timeout after ${opts.timeoutMs} ms`)));
    req.on('error', reject);
    req.on('response', (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('error', reject);
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers,
                                    body: Buffer.concat(chunks).toString('utf8') }));
    });
    req.end(body);
  });
}

// The JSON-RPC message answering id: the JSON body, or the SSE event that carries it. With
// --expect (a fixed-answer server), the first message that is an answer, whatever its id.
function answer(res, id) {
  const ours = (msg) => (opts.expect !== null ? msg.id !== undefined && (msg.result || msg.error) : msg.id === id);
  const type = res.headers['content-type'] || '';
  if (type.startsWith('text/event-stream')) {
    for (const event of res.body.replace(/\r\n/g, '\n').split('\n\n')) {
      const data = event.split('\n').filter((l) => l.startsWith('data:')).map((l) => l.slice(5).trimStart()).join('\n');
      if (!data) continue;
      const msg = JSON.parse(data);
      if (ours(msg)) return msg;
    }
    throw new Error('no answer in the event stream');
  }
  const msg = JSON.parse(res.body);
  if (!ours(msg)) throw new Error(`answer with id ${msg.id}, not ${id}`);
  return msg;
}

class Session {
  constructor() {
    this.agent = new http.Agent({ keepAlive: true, maxSockets: 1, maxFreeSockets: 1 });
    this.headers = {};
    this.nextId = 1;
  }

  async open() {
    if (opts.stateless) {
      this.headers = { 'MCP-Protocol-Version': PROTOCOL };
      return;
    }
    const id = this.nextId++;
    const res = await request(this.agent, 'POST', {}, JSON.stringify({
      jsonrpc: '2.0', id, method: 'initialize',
      params: { protocolVersion: PROTOCOL, capabilities: {}, clientInfo: { name: 'causeway-bench', version: '1' } },
    }));
    if (res.status !== 200) throw new Error(`initialize: HTTP ${res.status} ${res.body.slice(0, 200)}`);
    const msg = answer(res, id);
    if (!msg.result) throw new Error(`initialize: ${JSON.stringify(msg.error)}`);
    const sid = res.headers['mcp-session-id'];
    this.headers = { 'MCP-Protocol-Version': msg.result.protocolVersion };
    if (sid) {
      this.headers['Mcp-Session-Id'] = sid;
      const n = await request(this.agent, 'POST', this.headers,
                              JSON.stringify({ jsonrpc: '2.0', method: 'notifications/initialized' }));
      if (n.status !== 202 && n.status !== 200) throw new Error(`notifications/initialized: HTTP ${n.status}`);
    }
  }

  // One tools/call; resolves the JSON-RPC message (result or error).
  async call(name, args) {
    const id = this.nextId++;
    const res = await request(this.agent, 'POST', this.headers, JSON.stringify({
      jsonrpc: '2.0', id, method: 'tools/call', params: { name, arguments: args },
    }));
    if (res.status !== 200) throw new Error(`tools/call: HTTP ${res.status} ${res.body.slice(0, 200)}`);
    return answer(res, id);
  }

  async close() {
    if (this.headers['Mcp-Session-Id']) {
      try { await request(this.agent, 'DELETE', this.headers); } catch { /* the session goes anyway */ }
    }
    this.agent.destroy();
  }
}

function echoed(msg, text) {
  const t = msg.result?.content?.[0]?.text;
  if (msg.result?.isError || typeof t !== 'string') return false;
  return opts.expect !== null ? t === opts.expect : t.endsWith(`:${text}`);
}

async function probe() {
  const s = new Session();
  const out = { echo: false, add: null };
  try {
    await s.open();
    out.echo = echoed(await s.call('echo', { text: 'probe' }), 'probe');
    const add = await s.call('add', { a: 1, b: 2 });
    out.add = add.error ? add.error.code : 'result';
  } catch (e) {
    out.add = `failed: ${e.message}`;
  } finally {
    await s.close();
  }
  process.stdout.write(JSON.stringify(out) + '\n');
}

function pick(sorted, q) {
  return sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] : null;
}

async function load() {
  const sessions = Array.from({ length: opts.sessions }, () => new Session());
  let errors = 0;
  let firstError = null;
  const fail = (e) => {
    errors++;
    if (!firstError) firstError = String(e?.message || e);
  };
  const opened = await Promise.allSettled(sessions.map((s) => s.open()));
  const live = sessions.filter((s, i) => {
    if (opened[i].status === 'rejected') fail(opened[i].reason);
    return opened[i].status === 'fulfilled';
  });

  const t0 = performance.now();
  const measureStart = t0 + opts.warmup * 1000;
  const measureEnd = measureStart + opts.duration * 1000;
  const marker = setTimeout(() => process.stdout.write('{"phase": "measure"}\n'), Math.max(0, measureStart - t0));
  const latencies = [];
  let started = 0;
  let measuredErrors = 0;

  async function run(s, n) {
    for (let i = 0; ; i++) {
      const start = performance.now();
      if (start >= measureEnd || started >= opts.maxCalls) return;
      started++;
      const text = `bench s${n} c${i}`;
      try {
        const msg = await s.call(opts.tool, { text });
        const end = performance.now();
        if (!echoed(msg, text)) throw new Error(`unexpected answer ${JSON.stringify(msg).slice(0, 200)}`);
        if (end >= measureStart && end <= measureEnd) latencies.push(end - start);
      } catch (e) {
        fail(e);
        if (performance.now() >= measureStart) measuredErrors++;
      }
    }
  }

  await Promise.all(live.map((s, n) => run(s, n)));
  clearTimeout(marker);
  const now = performance.now();
  if (now < measureStart) process.stdout.write('{"phase": "measure"}\n'); // --max-calls ended the warmup
  const seconds = (Math.min(now, measureEnd) - Math.max(measureStart, t0)) / 1000;
  latencies.sort((a, b) => a - b);
  const r = (x) => (x === null ? null : Math.round(x * 1000) / 1000);
  process.stdout.write(JSON.stringify({
    calls: latencies.length, errors: measuredErrors + (sessions.length - live.length), all_errors: errors,
    p50_ms: r(pick(latencies, 0.5)), p90_ms: r(pick(latencies, 0.9)), p99_ms: r(pick(latencies, 0.99)),
    seconds: Math.max(seconds, 0.001), first_error: firstError,
  }) + '\n');
  await Promise.all(sessions.map((s) => s.close()));
}

if (opts.probe) await probe();
else await load();
