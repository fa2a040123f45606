// The MCP gateway benchmark's server over stdio (bench/mcp_gateway), for mcp-proxy, which only
// fronts stdio servers: it spawns this script and talks to it over stdin/stdout.
//
//   node mcp_stdio_server.mjs [--name X]
//
// The same server as tests/e2e/node/mcp_server.mjs serves over Streamable HTTP to the other
// configurations: the 1.x SDK's McpServer (@modelcontextprotocol/sdk 1.32.2, from the
// end-to-end tests' node_modules, which scripts/npm-deps installs) with the same `echo {text}`
// tool answering one text item "<name>:<text>" (name default "mcp-test"), here on the SDK's
// StdioServerTransport. stdout carries only protocol messages.
import { McpServer } from '../../tests/e2e/node/node_modules/@modelcontextprotocol/sdk/dist/esm/server/mcp.js';
import { StdioServerTransport } from '../../tests/e2e/node/node_modules/@modelcontextprotocol/sdk/dist/esm/server/stdio.js';
import { z } from '../../tests/e2e/node/node_modules/zod/index.js';

let name = 'mcp-test';
const argv = process.argv.slice(2);
for (let i = 0; i < argv.length; i++) {
  if (argv[i] === '--name' && i + 1 < argv.length) name = argv[++i];
  else {
    process.stderr.write(`mcp_stdio_server.mjs: unknown argument ${argv[i]}\n`);
    process.exit(2);
  }
}

const server = new McpServer({ name, version: '1.0.0' }, { capabilities: { logging: {} } });
server.registerTool('echo', { description: 'Echoes text back, prefixed by the server name',
                              inputSchema: z.object({ text: z.string() }) },
                    async ({ text }) => ({ content: [{ type: 'text', text: `${name}:${text}` }] }));
await server.connect(new StdioServerTransport());
// The SDK's stdio transport ends with its stdin; a signal ends the process too.
process.stdin.on('end', () => process.exit(0));
process.on('SIGTERM', () => process.exit(0));
process.on('SIGINT', () => process.exit(0));
