// MCP client driver for the MCP-gateway end-to-end tests: connects to <url> with an official MCP
// SDK client, runs a list of steps, and prints ONE JSON object on stdout.
//
//   node mcp_client.mjs <url> '<steps JSON array>' [options]
//   node mcp_client.mjs <url> @steps.json [options]           (steps read from a file)
//
//   --transport streamable   1.x SDK (@modelcontextprotocol/sdk) Client + StreamableHTTPClientTransport,
//                            2025-era initialize + Mcp-Session-Id.                          (default)
//   --transport sse          1.x SDK legacy HTTP+SSE transport (GET event stream + POST endpoint).
//                            Against a Streamable-HTTP-only endpoint the connect fails; the error
//                            is reported in connectError.
//   --dialect 2026           v2 SDK (@modelcontextprotocol/client) pinned to revision 2026-07-28:
//                            server/discover, per-request _meta envelope, no session; fails if the
//                            server does not offer 2026-07-28.
//   --dialect auto           v2 SDK, versionNegotiation 'auto': probes with server/discover and
//                            falls back to the 2025 initialize handshake.
//   --dialect legacy         v2 SDK in its default 2025 mode (no probe).
//   --header K:V             add a request header to every HTTP request (repeatable),
//                            e.g. --header 'Authorization: Bearer t1'
//   --session-id ID          (1.x streamable) resume an existing Mcp-Session-Id instead of connecting
//                            anew: no initialize is sent.
//   --protocol-version V     (with --session-id) the MCP-Protocol-Version header to send
//                            (without it, a resumed session sends none).
//   --client-credentials ID:SECRET@ISSUER
//                            (1.x streamable) authorize as an OAuth client with the SDK's own
//                            ClientCredentialsProvider: on a 401 the SDK follows the server's
//                            RFC 9728 resource_metadata, discovers the authorization server
//                            (which must be ISSUER), gets a token for the server's `resource`
//                            and retries (--trace shows each of those exchanges).
//   --scope S                (with --client-credentials) the scope the token request asks for:
//                            this SDK's client-credentials flow sends its configured scope, not
//                            the one the server's challenge names.
//   --timeout MS             per-request timeout (default 10000).
//   --trace                  add "trace": every HTTP exchange the SDK made (method, url, request
//                            headers and JSON body, status, response headers, and the body when it
//                            is JSON; "error" instead when the fetch failed or was aborted) — to
//                            see the exact wire behaviour.
//   --no-close               do not call client.close() at the end. (close() only drops the
//                            connection; it never DELETEs the session — the terminateSession step
//                            does — so a session left this way can be resumed with --session-id.)
//
// Steps (a string "op" is the same as {"op": "op"}):
//   {"op":"listTools"}                   all pages (cursor loop) -> {tools:[names], pages, nextCursors}
//   {"op":"listToolsPage","cursor":C}    one page -> {tools:[names], nextCursor}
//   {"op":"callTool","name":N,"args":{..},"progress":true}
//                                        -> {content, isError, structuredContent, progress:[..]}
//   {"op":"listPrompts"} {"op":"getPrompt","name":N,"args":{..}}
//   {"op":"listResources"} {"op":"readResource","uri":U}
//   {"op":"ping"} {"op":"discover"} (2026) {"op":"listen","tools":true} (2026 subscriptions/listen)
//   {"op":"wait","ms":M}                 sleep (to let notifications arrive)
//   {"op":"terminateSession"}            DELETE the session (streamable transports)
//   {"op":"close"}                       client.close()
// Each step result is {op, ok:true, result} or {op, ok:false, error:{code, message, name, data?}}.
//
// Output: {ok (connected and every step ok), connected, transport, dialect, sdk, sessionId,
//          protocolVersion, era, serverInfo, capabilities, steps:[..], notifications:[{method, params}],
//          connectError?, trace?}
// The exit status is 0 in every case (2 only for a bad argument).
import { Client as ClientV1 } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport as StreamableV1 } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { ClientCredentialsProvider } from '@modelcontextprotocol/sdk/client/auth-extensions.js';
import { SSEClientTransport as SSEV1 } from '@modelcontextprotocol/sdk/client/sse.js';
import { ToolListChangedNotificationSchema, PromptListChangedNotificationSchema,
         ResourceListChangedNotificationSchema, ResourceUpdatedNotificationSchema,
         LoggingMessageNotificationSchema } from '@modelcontextprotocol/sdk/types.js';
import { Client as ClientV2, StreamableHTTPClientTransport as StreamableV2 } from '@modelcontextprotocol/client';
import { readFileSync } from 'node:fs';

function usage(msg) {
  process.stderr.write(`mcp_client.mjs: ${msg}\n`);
  process.exit(2);
}

function parseArgs(argv) {
  const o = { transport: 'streamable', dialect: null, headers: {}, timeout: 10000, trace: false, close: true,
              sessionId: undefined, protocolVersion: undefined, positional: [] };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const next = () => { if (i + 1 >= argv.length) usage(`${a} needs a value`); return argv[++i]; };
    if (a === '--transport') o.transport = next();
    else if (a === '--dialect') o.dialect = next();
    else if (a === '--header') {
      const h = next(); const c = h.indexOf(':');
      if (c <= 0) usage(`bad header ${h}`);
      o.headers[h.slice(0, c).trim()] = h.slice(c + 1).trim();
    } else if (a === '--timeout') o.timeout = Number(next());
    else if (a === '--trace') o.trace = true;
    else if (a === '--no-close') o.close = false;
    else if (a === '--session-id') o.sessionId = next();
    else if (a === '--protocol-version') o.protocolVersion = next();
    else if (a === '--client-credentials') {
      const m = /^([^:]+):([^@]+)@(.+)$/.exec(next());
      if (!m) usage('--client-credentials needs ID:SECRET@ISSUER');
      o.clientCredentials = { clientId: m[1], clientSecret: m[2], expectedIssuer: m[3] };
    } else if (a === '--scope') o.scope = next();
    else if (a.startsWith('--')) usage(`unknown option ${a}`);
    else o.positional.push(a);
  }
  if (o.positional.length < 1 || o.positional.length > 2) usage('expected <url> [steps]');
  if (!['streamable', 'sse'].includes(o.transport)) usage(`unknown transport ${o.transport}`);
  if (o.dialect !== null && !['2026', 'auto', 'legacy'].includes(o.dialect)) usage(`unknown dialect ${o.dialect}`);
  if (o.dialect !== null && o.transport === 'sse') usage('--dialect needs --transport streamable');
  o.url = o.positional[0];
  let steps = o.positional[1] ?? '[]';
  if (steps.startsWith('@')) steps = readFileSync(steps.slice(1), 'utf8');
  try { o.steps = JSON.parse(steps); } catch (e) { usage(`steps are not JSON: ${e.message}`); }
  if (!Array.isArray(o.steps)) usage('steps must be a JSON array');
  o.steps = o.steps.map((s) => (typeof s === 'string' ? { op: s } : s));
  return o;
}

const opts = parseArgs(process.argv.slice(2));
const trace = [];
const notifications = [];

function headersObject(h) {
  const out = {};
  if (!h) return out;
  if (typeof h.forEach === 'function') h.forEach((v, k) => { out[k.toLowerCase()] = v; });
  else if (Array.isArray(h)) for (const [k, v] of h) out[k.toLowerCase()] = v;
  else for (const [k, v] of Object.entries(h)) out[k.toLowerCase()] = v;
  return out;
}

// The fetch every transport uses: adds --header values and, with --trace, records each exchange.
// Response bodies are read (from a clone) only when they are JSON, never for event streams.
async function tracingFetch(url, init = {}) {
  const headers = new Headers(init.headers);
  for (const [k, v] of Object.entries(opts.headers)) if (!headers.has(k)) headers.set(k, v);
  let entry = null;
  if (opts.trace) {
    let body = init.body;
    try { if (typeof body === 'string') body = JSON.parse(body); } catch { /* keep as text */ }
    entry = { method: init.method || 'GET', url: String(url), requestHeaders: headersObject(headers), requestBody: body ?? null };
    trace.push(entry);
  }
  let res;
  try {
    res = await fetch(url, { ...init, headers });
  } catch (e) {
    if (entry) entry.error = String(e?.message || e); // e.g. aborted by a timeout before the answer
    throw e;
  }
  if (entry) {
    entry.status = res.status;
    entry.responseHeaders = headersObject(res.headers);
    if ((res.headers.get('content-type') || '').includes('application/json')) {
      try { entry.responseBody = JSON.parse(await res.clone().text()); } catch { /* not JSON after all */ }
    }
  }
  return res;
}

function errorObject(e) {
  if (!e || typeof e !== 'object') return { code: null, message: String(e) };
  const out = { code: e.code ?? null, message: e.message ?? String(e), name: e.name || e.constructor?.name };
  if (e.data !== undefined) out.data = e.data;
  if (e.cause) out.cause = String(e.cause?.message || e.cause);
  return out;
}

const sdk = opts.dialect ? 'v2' : 'v1';
const onNotification = (n) => notifications.push({ method: n.method, params: n.params ?? null });

function makeClient() {
  const info = { name: 'causeway-e2e-mcp-client', version: '1.0.0' };
  if (sdk === 'v1') {
    const c = new ClientV1(info, { capabilities: {} });
    for (const schema of [ToolListChangedNotificationSchema, PromptListChangedNotificationSchema,
                          ResourceListChangedNotificationSchema, ResourceUpdatedNotificationSchema,
                          LoggingMessageNotificationSchema]) {
      c.setNotificationHandler(schema, onNotification);
    }
    return c;
  }
  const mode = { '2026': { pin: '2026-07-28' }, auto: 'auto', legacy: 'legacy' }[opts.dialect];
  const c = new ClientV2(info, { capabilities: {}, versionNegotiation: { mode } });
  for (const m of ['notifications/tools/list_changed', 'notifications/prompts/list_changed',
                   'notifications/resources/list_changed', 'notifications/resources/updated',
                   'notifications/message']) {
    c.setNotificationHandler(m, onNotification);
  }
  return c;
}

function makeTransport() {
  const url = new URL(opts.url);
  const requestInit = { headers: { ...opts.headers } };
  if (opts.transport === 'sse') return new SSEV1(url, { requestInit, fetch: tracingFetch });
  const T = sdk === 'v1' ? StreamableV1 : StreamableV2;
  const authProvider = opts.clientCredentials
    ? new ClientCredentialsProvider({ ...opts.clientCredentials, scope: opts.scope }) : undefined;
  const t = new T(url, { requestInit, fetch: tracingFetch, sessionId: opts.sessionId, authProvider,
                         reconnectionOptions: { maxReconnectionDelay: 1000, initialReconnectionDelay: 200,
                                                reconnectionDelayGrowFactor: 1.5, maxRetries: 0 } });
  if (opts.protocolVersion) t.setProtocolVersion(opts.protocolVersion);
  return t;
}

const names = (list, key = 'name') => list.map((x) => x[key]);

// One tools/list page. The v2 client's listTools() without a cursor walks and aggregates every
// page itself (and caches), so for the first page it goes through the generic request() instead.
function listToolsPage(client, cursor, ro) {
  const params = cursor === undefined ? {} : { cursor };
  if (sdk === 'v2') return client.request({ method: 'tools/list', params }, ro);
  return client.listTools(params, ro);
}

async function runStep(client, transport, step) {
  const ro = { timeout: step.timeoutMs ?? opts.timeout };
  switch (step.op) {
    case 'listTools': {
      // Walk the cursors ourselves so both SDKs report the page count.
      const tools = []; const nextCursors = [];
      let cursor; let pages = 0;
      do {
        const r = await listToolsPage(client, cursor, ro);
        pages++;
        tools.push(...r.tools);
        cursor = r.nextCursor;
        if (cursor !== undefined) nextCursors.push(cursor);
        if (pages > 1000) throw new Error('more than 1000 pages');
      } while (cursor !== undefined);
      return { tools: names(tools), pages, nextCursors, definitions: step.full ? tools : undefined };
    }
    case 'listToolsPage': {
      const r = await listToolsPage(client, step.cursor, ro);
      return { tools: names(r.tools), nextCursor: r.nextCursor ?? null };
    }
    case 'callTool': {
      const progress = [];
      const o = { ...ro };
      if (step.progress) o.onprogress = (p) => progress.push(p);
      const r = await client.callTool({ name: step.name, arguments: step.args ?? {} }, undefined, o);
      return { content: r.content, isError: r.isError ?? false, structuredContent: r.structuredContent,
               text: (r.content || []).filter((c) => c.type === 'text').map((c) => c.text).join('\n'), progress };
    }
    case 'listPrompts': { const r = await client.listPrompts({}, ro); return { prompts: names(r.prompts) }; }
    case 'getPrompt': return client.getPrompt({ name: step.name, arguments: step.args ?? {} }, ro);
    case 'listResources': { const r = await client.listResources({}, ro); return { resources: names(r.resources, 'uri') }; }
    case 'readResource': return client.readResource({ uri: step.uri }, ro);
    case 'ping': return client.ping(ro);
    case 'discover': return client.discover(ro);
    case 'listen': {
      const sub = await client.listen({ toolsListChanged: step.tools ?? true, promptsListChanged: step.prompts ?? false,
                                        resourcesListChanged: step.resources ?? false }, ro);
      return { honoredFilter: sub.honoredFilter };
    }
    case 'wait': await new Promise((r) => setTimeout(r, step.ms ?? 200)); return {};
    case 'terminateSession': {
      if (typeof transport.terminateSession !== 'function') throw new Error('transport has no session to terminate');
      await transport.terminateSession();
      return { sessionIdAfter: transport.sessionId ?? null };
    }
    case 'close': await client.close(); return {};
    default: throw new Error(`unknown op ${step.op}`);
  }
}

// The v1 callTool signature is (params, resultSchema, options); v2 is (params, options).
function adaptV2(client) {
  const orig = client.callTool.bind(client);
  client.callTool = (params, _schema, options) => orig(params, options);
  return client;
}

async function main() {
  const out = { ok: false, connected: false, transport: opts.transport, dialect: opts.dialect ?? '2025', sdk,
                url: opts.url, sessionId: null, protocolVersion: null, era: null, serverInfo: null,
                capabilities: null, steps: [], notifications };
  let client = makeClient();
  if (sdk === 'v2') client = adaptV2(client);
  const transport = makeTransport();
  client.onerror = () => {}; // reported through the failing call instead
  try {
    await client.connect(transport, { timeout: opts.timeout });
    out.connected = true;
  } catch (e) {
    out.connectError = errorObject(e);
  }
  if (out.connected) {
    out.serverInfo = client.getServerVersion() ?? null;
    out.capabilities = client.getServerCapabilities() ?? null;
    out.protocolVersion = (sdk === 'v2' ? client.getNegotiatedProtocolVersion() : transport.protocolVersion) ?? null;
    if (sdk === 'v2') out.era = client.getProtocolEra() ?? null;
    out.sessionId = transport.sessionId ?? null;
    let allOk = true;
    for (const step of opts.steps) {
      try {
        out.steps.push({ op: step.op, ok: true, result: await runStep(client, transport, step) });
      } catch (e) {
        allOk = false;
        out.steps.push({ op: step.op, ok: false, error: errorObject(e) });
      }
    }
    out.ok = allOk;
    if (sdk === 'v2' && out.era === 'modern') out.discover = client.getDiscoverResult() ?? null;
  }
  if (opts.close) {
    try { await client.close(); } catch { /* already closed */ }
  }
  if (opts.trace) out.trace = trace;
  process.stdout.write(JSON.stringify(out) + '\n');
}

main().then(() => process.exit(0), (e) => {
  process.stdout.write(JSON.stringify({ ok: false, fatal: errorObject(e), trace }) + '\n');
  process.exit(0);
});
