// AI-gateway test client: makes ONE call with an official provider SDK (openai or
// @anthropic-ai/sdk) and prints what the SDK saw as one JSON line on stdout, for
// tests/e2e/test_ai_gateway.py. It never talks to a real provider: the tests point baseURL at
// causeway (or straight at the fake providers of tests/e2e/fake_llm.py).
//
//   node ai_client.js '{"sdk":"openai"|"anthropic"|"azure"|"responses","baseURL":"...","apiKey":"...",
//                       "call":"chat"|"stream","request":{...},"headers":{...}}'
//   ("azure": the openai package's AzureOpenAI client; baseURL is the endpoint, with
//    "deployment" and "apiVersion" in the argument. "responses": the openai package's
//    client.responses.create, the Responses API.)
//
// chat   → {ok:true, status, headers, response}
// stream → {ok:true, status, headers, chunks:[...], text, toolCalls:[{id,name,arguments}],
//           usage (last usage seen, null if none), finishReason}
// error  → {ok:false, status, errorType, errorName, message, error (the SDK's error body),
//           headers:{...}, partial:{chunks, text}}
// The exit status is 0 in every case (2 only for a bad argument).
'use strict';

const OpenAI = require('openai').default;
const { AzureOpenAI } = require('openai');
const Anthropic = require('@anthropic-ai/sdk').default;

function headersObject(headers) {
  const out = {};
  if (headers && typeof headers.forEach === 'function') headers.forEach((v, k) => { out[k.toLowerCase()] = v; });
  return out;
}

function makeClient(arg) {
  const common = { baseURL: arg.baseURL, apiKey: arg.apiKey, maxRetries: 0, timeout: arg.timeoutMs || 30000,
                   defaultHeaders: arg.headers || {} };
  if (arg.sdk === 'openai' || arg.sdk === 'responses') return new OpenAI(common);
  if (arg.sdk === 'azure') {
    // The SDK's Azure client: baseURL is the resource endpoint, requests go to
    // /openai/deployments/<deployment>/chat/completions?api-version=<apiVersion> with `api-key`.
    const { baseURL, ...rest } = common;
    return new AzureOpenAI({ ...rest, endpoint: baseURL, deployment: arg.deployment, apiVersion: arg.apiVersion });
  }
  if (arg.sdk === 'anthropic') return new Anthropic(common);
  throw new Error(`unknown sdk ${arg.sdk}`);
}

function create(client, arg, request) {
  if (arg.sdk === 'responses') return client.responses.create(request);
  return arg.sdk === 'anthropic' ? client.messages.create(request) : client.chat.completions.create(request);
}

// Accumulates the chunks of a stream into text, tool calls, usage and the finish reason.
class Collector {
  constructor(sdk) {
    this.sdk = sdk;
    this.chunks = [];
    this.text = '';
    this.tools = new Map();
    this.usage = null;
    this.finishReason = null;
  }

  add(chunk) {
    this.chunks.push(chunk);
    if (this.sdk === 'responses') {
      // The Responses API's events (response.output_text.delta …, response.completed).
      if (chunk.type === 'response.output_text.delta') this.text += chunk.delta;
      if (chunk.type === 'response.output_item.done' && chunk.item.type === 'function_call') {
        this.tools.set(chunk.output_index, { id: chunk.item.call_id, name: chunk.item.name, arguments: chunk.item.arguments });
      }
      if (chunk.type === 'response.completed') {
        this.usage = chunk.response.usage;
        this.finishReason = chunk.response.status;
      }
      if (chunk.type === 'response.failed') this.finishReason = 'failed';
      return;
    }
    if (this.sdk !== 'anthropic') {
      if (chunk.usage) this.usage = chunk.usage;
      for (const choice of chunk.choices || []) {
        const delta = choice.delta || {};
        if (typeof delta.content === 'string') this.text += delta.content;
        for (const call of delta.tool_calls || []) {
          const t = this.tools.get(call.index) || { id: null, name: '', arguments: '' };
          if (call.id) t.id = call.id;
          if (call.function && call.function.name) t.name += call.function.name;
          if (call.function && call.function.arguments) t.arguments += call.function.arguments;
          this.tools.set(call.index, t);
        }
        if (choice.finish_reason) this.finishReason = choice.finish_reason;
      }
      return;
    }
    switch (chunk.type) {
      case 'message_start':
        this.usage = { ...(chunk.message && chunk.message.usage) };
        break;
      case 'content_block_start':
        if (chunk.content_block.type === 'tool_use') {
          this.tools.set(chunk.index, { id: chunk.content_block.id, name: chunk.content_block.name, arguments: '' });
        } else if (chunk.content_block.type === 'text' && chunk.content_block.text) {
          this.text += chunk.content_block.text;
        }
        break;
      case 'content_block_delta':
        if (chunk.delta.type === 'text_delta') this.text += chunk.delta.text;
        if (chunk.delta.type === 'input_json_delta') {
          const t = this.tools.get(chunk.index);
          if (t) t.arguments += chunk.delta.partial_json;
        }
        break;
      case 'message_delta':
        if (chunk.usage) this.usage = { ...(this.usage || {}), ...chunk.usage };
        if (chunk.delta && chunk.delta.stop_reason) this.finishReason = chunk.delta.stop_reason;
        break;
      default:
        break;
    }
  }

  toolCalls() {
    return [...this.tools.keys()].sort((a, b) => a - b).map((k) => this.tools.get(k));
  }
}

function errorResult(err, collector) {
  const out = {
    ok: false,
    status: err && typeof err.status === 'number' ? err.status : null,
    errorType: err && err.type != null ? err.type : null,
    errorName: err && err.constructor ? err.constructor.name : typeof err,
    message: err && err.message ? String(err.message) : String(err),
    error: err && err.error !== undefined ? err.error : null,
    headers: headersObject(err && err.headers),
  };
  if (err && err.cause) out.cause = String(err.cause && err.cause.message ? err.cause.message : err.cause);
  out.partial = collector ? { chunks: collector.chunks, text: collector.text } : { chunks: [], text: '' };
  return out;
}

async function main() {
  let arg;
  try {
    arg = JSON.parse(process.argv[2]);
  } catch (e) {
    process.stderr.write(`usage: node ai_client.js '<json argument>' (${e.message})\n`);
    process.exit(2);
  }
  const client = makeClient(arg);
  const request = { ...arg.request };
  if (arg.call === 'stream') request.stream = true;
  const collector = arg.call === 'stream' ? new Collector(arg.sdk) : null;
  let result;
  try {
    const { data, response } = await create(client, arg, request).withResponse();
    const meta = { status: response.status, headers: headersObject(response.headers) };
    if (arg.call === 'stream') {
      for await (const chunk of data) collector.add(chunk);
      result = { ok: true, ...meta, chunks: collector.chunks, text: collector.text,
                 toolCalls: collector.toolCalls(), usage: collector.usage, finishReason: collector.finishReason };
    } else {
      result = { ok: true, ...meta, response: data };
    }
  } catch (err) {
    result = errorResult(err, collector);
  }
  process.stdout.write(JSON.stringify(result) + '\n');
}

main().catch((e) => {
  process.stdout.write(JSON.stringify({ ok: false, status: null, errorType: null, errorName: 'crash',
                                        message: String(e && e.stack ? e.stack : e) }) + '\n');
});
