// MCP test server over Streamable HTTP, written with the official MCP SDKs, for the MCP-gateway
// end-to-end tests. It never talks to anything but its own listening socket.
//
//   node mcp_server.mjs [--port N] [--dialect D] [--name X] [--json] [--tools N] [--page-size N]
//                       [--log] [--conformance] [--list-delay MS]
//
//   --port N        port on 127.0.0.1 (default: $PORT, else 0 = any free port). The first stdout
//                   line, once listening, is {"port": N, "dialect": D, "name": X}.
//   --dialect D     stateful        2025-era revisions with sessions (Mcp-Session-Id, GET stream,
//                                   DELETE): the 1.x SDK's StreamableHTTPServerTransport with a
//                                   sessionIdGenerator, one McpServer per session.   (default)
//                   stateless       2025-era revisions without sessions: 1.x SDK transport with
//                                   sessionIdGenerator undefined, a fresh server per POST; GET and
//                                   DELETE are answered 405.
//                   stateless-2026  ONLY the 2026-07-28 revision (per-request _meta envelope,
//                                   server/discover, no initialize, no sessions): the v2 SDK's
//                                   createMcpHandler(factory, {legacy: 'reject'}).
//                   dual            the v2 SDK's createMcpHandler default: 2026-07-28 plus a
//                                   stateless 2025 fallback for clients that send initialize.
//                   sse-legacy      the deprecated HTTP+SSE transport (2024-11-05): GET <path>
//                                   opens the event stream, whose `endpoint` event names
//                                   <path>?sessionId=ID for the POSTs (1.x SSEServerTransport).
//   --name X        server name (default "mcp-test"); every tool result text starts with "X:" so a
//                   test can tell which backend answered.
//   --json          answer with application/json instead of SSE where the SDK allows it (1.x:
//                   enableJsonResponse; v2: responseMode 'json'). Either way the progress and log
//                   notifications and server->client requests of a call are then lost.
//   --tools N       also register N tools t0..t{N-1} (for pagination / large lists).
//   --page-size N   paginate tools/list N tools per page with an opaque nextCursor. Neither SDK's
//                   McpServer paginates tools/list itself (it always returns every tool), so this
//                   wraps the SDK's own tools/list handler. Default 0 = no pagination.
//   --log           one JSON line per HTTP request on stderr (method, url, headers).
//   --list-delay MS answer tools/list MS milliseconds late, printing {"listAsked": <epoch ms>} on
//                   stdout when it is asked (to see a gateway ask several servers at once).
//   --conformance   (2025-era dialects only) also serve the fixtures the official conformance
//                   suite (@modelcontextprotocol/conformance `server` command, see mcp_conformance.mjs)
//                   calls by name — test_simple_text, test_image_content, test_tool_with_progress,
//                   test_sampling, test_elicitation, test_simple_prompt, test://static-text, ... —
//                   plus completion, resources/subscribe and a localhost-only Host/Origin check
//                   (the dns-rebinding-protection scenario), written here from the requirements the
//                   suite states in its scenario descriptions.
//
// Served on every path (a gateway may rewrite the path); tests normally use /mcp.
//
// Tools (every result is one text item "<name>:<payload>"):
//   echo {text}                  -> "<name>:<text>"
//   add {a, b}                   -> "<name>:<a+b>"
//   transfer_funds {amount, to}  -> "<name>:sent"          (annotated destructiveHint: true)
//   slow {ms}                    -> "<name>:slept <ms>"    sleeps; with a progressToken sends 5
//                                                          notifications/progress while sleeping;
//                                                          stops early when cancelled
//   whoami {}                    -> "<name>:<json>"        json = {server, sessionId, authorization,
//                                   xTestSeen, mcpSessionIdHeader, mcpProtocolVersion, mcpMethod, mcpName}
//                                   as this server received them (what the gateway forwarded)
//   add_tool {name}              -> "<name>:added <tool>"  registers tool <tool> (answers
//                                   "<name>:<tool>") on every live session, which sends
//                                   notifications/tools/list_changed (2025: on each session's GET
//                                   stream; 2026: on open subscriptions/listen streams)
//   t0..t{N-1} {}                -> "<name>:t<i>"          (only with --tools N)
// An unknown tool is a JSON-RPC error -32602 from the v2 SDK (2026 dialects) but an isError result
// ("MCP error -32602: Tool nope not found") from the 1.x SDK.
// Prompt greet {name} -> one user message "Hello, <name>! (from <server name>)".
// Resource mem://info -> text JSON {server, dialect}.
import http from 'node:http';
import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import { McpServer as McpServerV1, ResourceTemplate } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { SSEServerTransport } from '@modelcontextprotocol/sdk/server/sse.js';
import { completable } from '@modelcontextprotocol/sdk/server/completable.js';
import { CreateMessageResultSchema, ElicitResultSchema, SubscribeRequestSchema,
         UnsubscribeRequestSchema } from '@modelcontextprotocol/sdk/types.js';
import { McpServer as McpServerV2, createMcpHandler } from '@modelcontextprotocol/server';

function parseArgs(argv) {
  const o = { port: Number(process.env.PORT || 0), dialect: 'stateful', name: 'mcp-test', json: false,
              tools: 0, pageSize: 0, log: false, conformance: false, listDelay: 0 };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const next = () => { if (i + 1 >= argv.length) usage(`${a} needs a value`); return argv[++i]; };
    if (a === '--port') o.port = Number(next());
    else if (a === '--dialect') o.dialect = next();
    else if (a === '--name') o.name = next();
    else if (a === '--json') o.json = true;
    else if (a === '--tools') o.tools = Number(next());
    else if (a === '--page-size') o.pageSize = Number(next());
    else if (a === '--log') o.log = true;
    else if (a === '--list-delay') o.listDelay = Number(next());
    else if (a === '--conformance') o.conformance = true;
    else usage(`unknown argument ${a}`);
  }
  if (!['stateful', 'stateless', 'stateless-2026', 'dual', 'sse-legacy'].includes(o.dialect)) usage(`unknown dialect ${o.dialect}`);
  if (o.conformance && !['stateful', 'stateless', 'sse-legacy'].includes(o.dialect)) usage('--conformance needs a 2025-era dialect (stateful or stateless): the suite has no 2026-07-28 scenarios');
  return o;
}

function usage(msg) {
  process.stderr.write(`mcp_server.mjs: ${msg}\n`);
  process.exit(2);
}

const opts = parseArgs(process.argv.slice(2));
const NAME = opts.name;
const text = (payload) => ({ content: [{ type: 'text', text: `${NAME}:${payload}` }] });
const sleep = (ms, signal) => new Promise((resolve) => {
  const t = setTimeout(resolve, ms);
  signal?.addEventListener('abort', () => { clearTimeout(t); resolve(); }, { once: true });
});

// Tools added at run time by add_tool; every new server instance registers them too.
const addedTools = [];
// Live McpServer instances (one per session when stateful), so add_tool reaches all of them.
const liveServers = new Set();
// The v2 handler (stateless-2026 / dual), whose notify.toolsChanged() feeds subscriptions/listen.
let v2Handler = null;

// The SDK-neutral view of a request context. 1.x passes `extra` {sessionId, requestInfo.headers
// (a plain object), _meta, sendNotification, signal}; v2 passes `ctx` {sessionId, http.req (a
// fetch Request), mcpReq: {_meta, notify, signal}}.
function reqView(ctx) {
  if (ctx && ctx.mcpReq) {
    const h = ctx.http?.req?.headers;
    return { sessionId: ctx.sessionId, header: (k) => h?.get(k) ?? null, progressToken: ctx.mcpReq._meta?.progressToken,
             notify: (n) => ctx.mcpReq.notify(n), signal: ctx.mcpReq.signal };
  }
  const h = ctx?.requestInfo?.headers || {};
  return { sessionId: ctx?.sessionId, header: (k) => { const v = h[k]; return v === undefined ? null : Array.isArray(v) ? v.join(', ') : v; },
           progressToken: ctx?._meta?.progressToken, notify: (n) => ctx.sendNotification(n), signal: ctx?.signal };
}

function registerAddedTool(server, toolName) {
  server.registerTool(toolName, { description: `added at run time by add_tool`, inputSchema: z.object({}) },
                      async () => text(toolName));
}

// Registers the whole test surface on an McpServer of either SDK (their register* calls agree).
function populate(server) {
  server.registerTool('echo', { description: 'Echoes text back, prefixed by the server name',
                                inputSchema: z.object({ text: z.string() }) },
                      async ({ text: t }) => text(t));
  server.registerTool('add', { description: 'Adds two numbers', inputSchema: z.object({ a: z.number(), b: z.number() }) },
                      async ({ a, b }) => text(String(a + b)));
  server.registerTool('transfer_funds', {
    description: 'Pretends to send money (a tool a gateway policy may want to block)',
    inputSchema: z.object({ amount: z.number(), to: z.string() }),
    annotations: { destructiveHint: true, readOnlyHint: false },
  }, async () => text('sent'));
  server.registerTool('slow', { description: 'Sleeps ms milliseconds, reporting progress when asked',
                                inputSchema: z.object({ ms: z.number() }) },
                      async ({ ms }, ctx) => {
                        const r = reqView(ctx);
                        const steps = 5;
                        for (let i = 1; i <= steps; i++) {
                          await sleep(ms / steps, r.signal);
                          if (r.signal?.aborted) {
                            // Tests look for this line: the call was cancelled, not finished.
                            process.stderr.write(JSON.stringify({ event: 'call-cancelled', tool: 'slow', server: NAME }) + '\n');
                            return text('cancelled');
                          }
                          if (r.progressToken !== undefined) {
                            await r.notify({ method: 'notifications/progress',
                                             params: { progressToken: r.progressToken, progress: i, total: steps,
                                                       message: `${NAME} step ${i}/${steps}` } });
                          }
                        }
                        // Keep the last notification out of the result's packet: the 1.x client
                        // drops a progress notification that it reads in one chunk with the result
                        // (seen on the legacy SSE transport).
                        if (r.progressToken !== undefined) await sleep(20, r.signal);
                        return text(`slept ${ms}`);
                      });
  server.registerTool('whoami', { description: 'Reports the session id and the headers this server received',
                                  inputSchema: z.object({}) },
                      async (_args, ctx) => {
                        const r = reqView(ctx);
                        return text(JSON.stringify({
                          server: NAME, dialect: opts.dialect, sessionId: r.sessionId ?? null,
                          authorization: r.header('authorization'), xTestSeen: r.header('x-test-seen'),
                          mcpSessionIdHeader: r.header('mcp-session-id'), mcpProtocolVersion: r.header('mcp-protocol-version'),
                          mcpMethod: r.header('mcp-method'), mcpName: r.header('mcp-name'),
                        }));
                      });
  server.registerTool('add_tool', { description: 'Registers a new tool at run time (sends tools/list_changed)',
                                    inputSchema: z.object({ name: z.string() }) },
                      async ({ name }) => {
                        if (!addedTools.includes(name)) {
                          addedTools.push(name);
                          for (const s of liveServers) {
                            try { registerAddedTool(s, name); } catch (e) { /* already there */ }
                          }
                          if (v2Handler) v2Handler.notify.toolsChanged();
                        }
                        return text(`added ${name}`);
                      });
  for (let i = 0; i < opts.tools; i++) {
    server.registerTool(`t${i}`, { description: `Filler tool number ${i}`, inputSchema: z.object({}) },
                        async () => text(`t${i}`));
  }
  for (const t of addedTools) registerAddedTool(server, t);

  // A raw shape, not z.object: the 1.x registerPrompt only takes a shape.
  server.registerPrompt('greet', { description: 'Greets someone', argsSchema: { name: z.string() } },
                        async ({ name }) => ({
                          messages: [{ role: 'user', content: { type: 'text', text: `Hello, ${name}! (from ${NAME})` } }],
                        }));
  server.registerResource('info', 'mem://info', { description: 'Which server this is', mimeType: 'application/json' },
                          async (uri) => ({
                            contents: [{ uri: uri.href, mimeType: 'application/json',
                                         text: JSON.stringify({ server: NAME, dialect: opts.dialect }) }],
                          }));
  if (opts.conformance) populateConformance(server);
  if (opts.pageSize > 0) paginateTools(server.server);
  if (opts.listDelay > 0) delayToolsList(server.server);
  return server;
}

// --- the conformance suite's fixtures (1.x McpServer only) --------------------------------------

const PNG_1X1 = 'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8DwHwAFBQIAX8jx0gAAAABJRU5ErkJggg==';

// A valid, tiny WAV file: 8 samples of 8-bit mono silence at 8 kHz.
function wavBase64() {
  const samples = Buffer.alloc(8, 128);
  const h = Buffer.alloc(44);
  h.write('RIFF', 0); h.writeUInt32LE(36 + samples.length, 4); h.write('WAVE', 8);
  h.write('fmt ', 12); h.writeUInt32LE(16, 16); h.writeUInt16LE(1, 20); h.writeUInt16LE(1, 22);
  h.writeUInt32LE(8000, 24); h.writeUInt32LE(8000, 28); h.writeUInt16LE(1, 32); h.writeUInt16LE(8, 34);
  h.write('data', 36); h.writeUInt32LE(samples.length, 40);
  return Buffer.concat([h, samples]).toString('base64');
}

function populateConformance(server) {
  const none = z.object({});
  const plain = (t) => ({ content: [{ type: 'text', text: t }] });
  server.registerTool('test_simple_text', { description: 'Returns simple text', inputSchema: none },
                      async () => plain('This is a simple text response for testing.'));
  server.registerTool('test_image_content', { description: 'Returns an image', inputSchema: none },
                      async () => ({ content: [{ type: 'image', data: PNG_1X1, mimeType: 'image/png' }] }));
  server.registerTool('test_audio_content', { description: 'Returns audio', inputSchema: none },
                      async () => ({ content: [{ type: 'audio', data: wavBase64(), mimeType: 'audio/wav' }] }));
  server.registerTool('test_embedded_resource', { description: 'Returns an embedded resource', inputSchema: none },
                      async () => ({ content: [{ type: 'resource', resource: { uri: 'test://embedded-resource', mimeType: 'text/plain',
                                                                               text: 'This is an embedded resource content.' } }] }));
  server.registerTool('test_multiple_content_types', { description: 'Returns text, image and resource', inputSchema: none },
                      async () => ({ content: [
                        { type: 'text', text: 'Multiple content types test:' },
                        { type: 'image', data: PNG_1X1, mimeType: 'image/png' },
                        { type: 'resource', resource: { uri: 'test://mixed-content-resource', mimeType: 'application/json',
                                                        text: JSON.stringify({ test: 'data', value: 123 }) } },
                      ] }));
  server.registerTool('test_tool_with_logging', { description: 'Logs three messages while running', inputSchema: none },
                      async (_args, extra) => {
                        const log = (data) => extra.sendNotification({ method: 'notifications/message', params: { level: 'info', data } });
                        await log('Tool execution started'); await sleep(50);
                        await log('Tool processing data'); await sleep(50);
                        await log('Tool execution completed');
                        return plain('Logging test completed');
                      });
  server.registerTool('test_tool_with_progress', { description: 'Reports progress 0, 50, 100 of 100', inputSchema: none },
                      async (_args, extra) => {
                        const token = extra._meta?.progressToken;
                        for (const progress of [0, 50, 100]) {
                          if (token !== undefined) {
                            await extra.sendNotification({ method: 'notifications/progress', params: { progressToken: token, progress, total: 100 } });
                          }
                          if (progress < 100) await sleep(50);
                        }
                        return plain('Progress test completed');
                      });
  server.registerTool('test_error_handling', { description: 'Always fails', inputSchema: none },
                      async () => { throw new Error('This tool intentionally returns an error for testing'); });
  server.registerTool('test_sampling', { description: 'Asks the client to sample', inputSchema: z.object({ prompt: z.string() }) },
                      async ({ prompt }, extra) => {
                        const r = await extra.sendRequest({ method: 'sampling/createMessage', params: {
                          messages: [{ role: 'user', content: { type: 'text', text: prompt } }], maxTokens: 100 } }, CreateMessageResultSchema);
                        return plain(`LLM response: ${r.content?.text ?? JSON.stringify(r.content)}`);
                      });
  const elicit = async (extra, message, requestedSchema) => {
    const r = await extra.sendRequest({ method: 'elicitation/create', params: { message, requestedSchema } }, ElicitResultSchema);
    return plain(`Elicitation completed: action=${r.action}, content=${JSON.stringify(r.content ?? {})}`);
  };
  server.registerTool('test_elicitation', { description: 'Asks the user for input', inputSchema: z.object({ message: z.string() }) },
                      async ({ message }, extra) => elicit(extra, message, {
                        type: 'object', required: ['username', 'email'],
                        properties: { username: { type: 'string', description: "User's response" },
                                      email: { type: 'string', description: "User's email address" } } }));
  server.registerTool('test_elicitation_sep1034_defaults', { description: 'Elicitation with defaults (SEP-1034)', inputSchema: none },
                      async (_args, extra) => elicit(extra, 'Please review and update the form fields with defaults', {
                        type: 'object',
                        properties: {
                          name: { type: 'string', description: 'User name', default: 'John Doe' },
                          age: { type: 'integer', description: 'User age', default: 30 },
                          score: { type: 'number', description: 'User score', default: 95.5 },
                          status: { type: 'string', description: 'User status', enum: ['active', 'inactive', 'pending'], default: 'active' },
                          verified: { type: 'boolean', description: 'Verification status', default: true },
                        } }));
  server.registerTool('test_elicitation_sep1330_enums', { description: 'Elicitation with every enum form (SEP-1330)', inputSchema: none },
                      async (_args, extra) => elicit(extra, 'Please select options from the enum fields', {
                        type: 'object',
                        properties: {
                          untitledSingle: { type: 'string', description: 'Untitled single-select', enum: ['option1', 'option2', 'option3'] },
                          titledSingle: { type: 'string', description: 'Titled single-select',
                                          oneOf: [{ const: 'value1', title: 'First Option' }, { const: 'value2', title: 'Second Option' },
                                                  { const: 'value3', title: 'Third Option' }] },
                          legacyEnum: { type: 'string', description: 'Legacy titled enum', enum: ['opt1', 'opt2', 'opt3'],
                                        enumNames: ['Option One', 'Option Two', 'Option Three'] },
                          untitledMulti: { type: 'array', description: 'Untitled multi-select',
                                           items: { type: 'string', enum: ['option1', 'option2', 'option3'] } },
                          titledMulti: { type: 'array', description: 'Titled multi-select',
                                         items: { anyOf: [{ const: 'value1', title: 'First Choice' }, { const: 'value2', title: 'Second Choice' },
                                                          { const: 'value3', title: 'Third Choice' }] } },
                        } }));

  const userText = (t) => ({ role: 'user', content: { type: 'text', text: t } });
  server.registerPrompt('test_simple_prompt', { description: 'A prompt without arguments' },
                        async () => ({ messages: [userText('This is a simple prompt for testing.')] }));
  server.registerPrompt('test_prompt_with_arguments', {
    description: 'A prompt with two arguments (arg1 completes)',
    argsSchema: { arg1: completable(z.string().describe('First test argument'),
                                    (v) => ['paris', 'park', 'party'].filter((x) => x.startsWith(v ?? ''))),
                  arg2: z.string().describe('Second test argument') },
  }, async ({ arg1, arg2 }) => ({ messages: [userText(`Prompt with arguments: arg1='${arg1}', arg2='${arg2}'`)] }));
  server.registerPrompt('test_prompt_with_embedded_resource', {
    description: 'A prompt embedding a resource', argsSchema: { resourceUri: z.string().describe('URI of the resource to embed') },
  }, async ({ resourceUri }) => ({ messages: [
    { role: 'user', content: { type: 'resource', resource: { uri: resourceUri, mimeType: 'text/plain', text: 'Embedded resource content for testing.' } } },
    userText('Please process the embedded resource above.'),
  ] }));
  server.registerPrompt('test_prompt_with_image', { description: 'A prompt with an image' },
                        async () => ({ messages: [{ role: 'user', content: { type: 'image', data: PNG_1X1, mimeType: 'image/png' } },
                                                  userText('Please analyze the image above.')] }));

  server.registerResource('static-text', 'test://static-text', { description: 'A static text resource', mimeType: 'text/plain' },
                          async (uri) => ({ contents: [{ uri: uri.href, mimeType: 'text/plain', text: 'This is the content of the static text resource.' }] }));
  server.registerResource('static-binary', 'test://static-binary', { description: 'A static binary resource', mimeType: 'image/png' },
                          async (uri) => ({ contents: [{ uri: uri.href, mimeType: 'image/png', blob: PNG_1X1 }] }));
  server.registerResource('watched-resource', 'test://watched-resource', { description: 'A resource to subscribe to', mimeType: 'text/plain' },
                          async (uri) => ({ contents: [{ uri: uri.href, mimeType: 'text/plain', text: 'Watched resource content' }] }));
  server.registerResource('template', new ResourceTemplate('test://template/{id}/data', { list: undefined }),
                          { description: 'A resource template', mimeType: 'application/json' },
                          async (uri, { id }) => ({ contents: [{ uri: uri.href, mimeType: 'application/json',
                                                                 text: JSON.stringify({ id, templateTest: true, data: `Data for ID: ${id}` }) }] }));
  // McpServer has no resources/subscribe; the low-level Server does.
  server.server.registerCapabilities({ resources: { subscribe: true, listChanged: true } });
  const subscribed = new Set();
  server.server.setRequestHandler(SubscribeRequestSchema, async (req) => { subscribed.add(req.params.uri); return {}; });
  server.server.setRequestHandler(UnsubscribeRequestSchema, async (req) => { subscribed.delete(req.params.uri); return {}; });
}

// DNS-rebinding protection for --conformance: only localhost names in Host and Origin.
function localhostOnly(req) {
  const ok = (hostname) => ['localhost', '127.0.0.1', '[::1]', '::1'].includes(hostname);
  try {
    if (!ok(new URL(`http://${req.headers.host ?? ''}`).hostname)) return false;
    if (req.headers.origin !== undefined && !ok(new URL(req.headers.origin).hostname)) return false;
  } catch { return false; }
  return true;
}

// Wraps the SDK's tools/list handler so that it answers one page of opts.pageSize tools with an
// opaque nextCursor. Reaches into the Protocol's handler map (same name in both SDKs), since
// neither McpServer offers pagination.
function paginateTools(lowLevel) {
  const handlers = lowLevel._requestHandlers;
  const orig = handlers.get('tools/list');
  if (!orig) throw new Error('no tools/list handler to paginate');
  handlers.set('tools/list', async (request, ctx) => {
    const all = await orig(request, ctx);
    const cursor = request.params?.cursor;
    let start = 0;
    if (cursor !== undefined) {
      const m = /^page:(\d+)$/.exec(Buffer.from(String(cursor), 'base64url').toString());
      if (!m) {
        const err = new Error(`Invalid cursor ${cursor}`);
        err.code = -32602;
        throw err;
      }
      start = Number(m[1]);
    }
    const end = start + opts.pageSize;
    const page = { ...all, tools: all.tools.slice(start, end) };
    if (end < all.tools.length) page.nextCursor = Buffer.from(`page:${end}`).toString('base64url');
    else delete page.nextCursor;
    return page;
  });
}

// Wraps the SDK's tools/list handler (as paginateTools does) to answer opts.listDelay ms late.
function delayToolsList(lowLevel) {
  const handlers = lowLevel._requestHandlers;
  const orig = handlers.get('tools/list');
  handlers.set('tools/list', async (request, ctx) => {
    process.stdout.write(JSON.stringify({ listAsked: Date.now() }) + '\n');
    await new Promise((resolve) => setTimeout(resolve, opts.listDelay));
    return orig(request, ctx);
  });
}

function logRequest(req) {
  if (opts.log) process.stderr.write(JSON.stringify({ method: req.method, url: req.url, headers: req.headers }) + '\n');
}

async function readBody(req) {
  const chunks = [];
  for await (const c of req) chunks.push(c);
  return Buffer.concat(chunks);
}

function jsonError(res, status, code, message) {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify({ jsonrpc: '2.0', error: { code, message }, id: null }));
}

// --- 2025-era, 1.x SDK -------------------------------------------------------------------------

const sessions = new Map(); // session id -> transport

async function handleStateful(req, res) {
  const sid = req.headers['mcp-session-id'];
  let parsed;
  if (req.method === 'POST') {
    const raw = await readBody(req);
    try { parsed = JSON.parse(raw.toString() || 'null'); } catch { return jsonError(res, 400, -32700, 'Parse error'); }
  }
  if (sid) {
    const transport = sessions.get(sid);
    if (!transport) return jsonError(res, 404, -32001, 'Session not found');
    return transport.handleRequest(req, res, parsed);
  }
  const isInit = (m) => m && typeof m === 'object' && m.method === 'initialize';
  if (req.method !== 'POST' || !(Array.isArray(parsed) ? parsed.some(isInit) : isInit(parsed))) {
    return jsonError(res, 400, -32000, 'Bad Request: No valid session ID provided');
  }
  const server = populate(new McpServerV1({ name: NAME, version: '1.0.0' }, { capabilities: { logging: {} } }));
  const transport = new StreamableHTTPServerTransport({
    sessionIdGenerator: () => randomUUID(),
    enableJsonResponse: opts.json,
    onsessioninitialized: (id) => { sessions.set(id, transport); },
    onsessionclosed: (id) => { sessions.delete(id); },
  });
  transport.onclose = () => {
    if (transport.sessionId) sessions.delete(transport.sessionId);
    liveServers.delete(server);
  };
  liveServers.add(server);
  await server.connect(transport);
  return transport.handleRequest(req, res, parsed);
}

async function handleStateless(req, res) {
  if (req.method !== 'POST') {
    res.writeHead(405, { 'content-type': 'application/json', allow: 'POST' });
    return res.end(JSON.stringify({ jsonrpc: '2.0', error: { code: -32000, message: 'Method not allowed.' }, id: null }));
  }
  let parsed;
  const raw = await readBody(req);
  try { parsed = JSON.parse(raw.toString() || 'null'); } catch { return jsonError(res, 400, -32700, 'Parse error'); }
  const server = populate(new McpServerV1({ name: NAME, version: '1.0.0' }, { capabilities: { logging: {} } }));
  const transport = new StreamableHTTPServerTransport({ sessionIdGenerator: undefined, enableJsonResponse: opts.json });
  res.on('close', () => { transport.close(); server.close(); });
  await server.connect(transport);
  return transport.handleRequest(req, res, parsed);
}

// The deprecated HTTP+SSE transport: one GET stream per session, POSTs carry ?sessionId=.
const sseSessions = new Map();

async function handleSseLegacy(req, res) {
  const url = new URL(req.url, 'http://127.0.0.1');
  if (req.method === 'GET') {
    const transport = new SSEServerTransport(url.pathname, res);
    const server = populate(new McpServerV1({ name: NAME, version: '1.0.0' }, { capabilities: { logging: {} } }));
    sseSessions.set(transport.sessionId, transport);
    liveServers.add(server);
    transport.onclose = () => { sseSessions.delete(transport.sessionId); liveServers.delete(server); };
    return server.connect(transport); // starts the stream and sends the endpoint event
  }
  if (req.method !== 'POST') {
    res.writeHead(405, { allow: 'GET, POST' });
    return res.end();
  }
  const transport = sseSessions.get(url.searchParams.get('sessionId') ?? '');
  if (!transport) return jsonError(res, 404, -32001, 'Session not found');
  return transport.handlePostMessage(req, res);
}

// --- 2026-07-28, v2 SDK ------------------------------------------------------------------------

// node:http <-> fetch Request/Response, since createMcpHandler is fetch-shaped (the
// @modelcontextprotocol/node adapter would do the same).
async function handleFetchShaped(req, res) {
  const ac = new AbortController();
  res.on('close', () => { if (!res.writableFinished) ac.abort(); });
  const headers = new Headers();
  for (const [k, v] of Object.entries(req.headers)) {
    if (Array.isArray(v)) v.forEach((x) => headers.append(k, x));
    else if (v !== undefined) headers.set(k, v);
  }
  const hasBody = !['GET', 'HEAD'].includes(req.method);
  const request = new Request(`http://${req.headers.host || '127.0.0.1'}${req.url}`, {
    method: req.method, headers, body: hasBody ? await readBody(req) : undefined, signal: ac.signal,
  });
  const response = await v2Handler.fetch(request);
  const out = {};
  response.headers.forEach((v, k) => { out[k] = v; });
  res.writeHead(response.status, out);
  if (!response.body) return res.end();
  res.flushHeaders();
  const reader = response.body.getReader();
  res.on('close', () => { reader.cancel().catch(() => {}); });
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      res.write(value);
    }
  } catch { /* client went away */ }
  res.end();
}

if (opts.dialect === 'stateless-2026' || opts.dialect === 'dual') {
  v2Handler = createMcpHandler(
    () => populate(new McpServerV2({ name: NAME, version: '1.0.0' }, { capabilities: {} })),
    { legacy: opts.dialect === 'dual' ? 'stateless' : 'reject', responseMode: opts.json ? 'json' : 'auto',
      onerror: (e) => { if (opts.log) process.stderr.write(JSON.stringify({ onerror: String(e?.message || e) }) + '\n'); } },
  );
}

const handle = { stateful: handleStateful, stateless: handleStateless, 'sse-legacy': handleSseLegacy,
                 'stateless-2026': handleFetchShaped, dual: handleFetchShaped }[opts.dialect];

const httpServer = http.createServer((req, res) => {
  logRequest(req);
  if (opts.conformance && !localhostOnly(req)) return jsonError(res, 403, -32000, 'Forbidden: Host/Origin is not localhost');
  handle(req, res).catch((e) => {
    process.stderr.write(`mcp_server.mjs: ${e?.stack || e}\n`);
    if (!res.headersSent) jsonError(res, 500, -32603, String(e?.message || e));
    else res.end();
  });
});

httpServer.listen(opts.port, '127.0.0.1', () => {
  process.stdout.write(JSON.stringify({ port: httpServer.address().port, dialect: opts.dialect, name: NAME }) + '\n');
});

function shutdown() {
  for (const t of [...sessions.values(), ...sseSessions.values()]) t.close().catch(() => {});
  if (v2Handler) v2Handler.close().catch(() => {});
  httpServer.close();
  httpServer.closeAllConnections?.();
  setTimeout(() => process.exit(0), 200).unref();
}
process.on('SIGTERM', shutdown);
process.on('SIGINT', shutdown);
