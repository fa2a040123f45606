// A fake OpenAI provider for the AI gateway benchmark's streamed case (bench/ai_gateway).
//   node fake-openai-stream.mjs PORT [FIRST_MS] [GAP_MS]
// POST (any path): reads the whole request, waits FIRST_MS (default 2) and sends the role chunk
// and the first content chunk, then one more content chunk every GAP_MS (default 1), the
// finish chunk with the usage, and [DONE]. The first token's text is "Hello": the client times
// the first token by it. Anything else gets 404. Listens on 127.0.0.1 only.
import http from 'node:http';

const port = Number(process.argv[2]);
const firstMs = Number(process.argv[3] ?? 2);
const gapMs = Number(process.argv[4] ?? 1);
const TOKENS = ['Hello', ' from', ' the', ' fake', ' provider', ',', ' streamed', '.'];

function chunk(delta, finish = null, usage = undefined) {
  const body = {
    id: 'chatcmpl-bench', object: 'chat.completion.chunk', created: 1700000000, model: 'gpt-4o-mini',
    choices: [{ index: 0, delta, finish_reason: finish }],
  };
  if (usage) body.usage = usage;
  return `data: ${JSON.stringify(body)}\n\n`;
}

const server = http.createServer({ noDelay: true, keepAliveTimeout: 300000 }, (req, res) => {
  if (req.method !== 'POST') {
    res.writeHead(404).end();
    return;
  }
  req.on('data', () => {});
  req.on('end', () => {
    res.writeHead(200, { 'Content-Type': 'text/event-stream', 'Cache-Control': 'no-cache' });
    setTimeout(() => {
      res.write(chunk({ role: 'assistant', content: '' }));
      let i = 0;
      const next = () => {
        if (res.destroyed) return;
        if (i < TOKENS.length) {
          res.write(chunk({ content: TOKENS[i++] }));
          setTimeout(next, gapMs);
          return;
        }
        res.write(chunk({}, 'stop', { prompt_tokens: 4000, completion_tokens: TOKENS.length,
                                      total_tokens: 4000 + TOKENS.length }));
        res.end('data: [DONE]\n\n');
      };
      next();
    }, firstMs);
  });
});
server.listen(port, '127.0.0.1');
