// Lets the @modelcontextprotocol/conformance CLI (0.1.16) start on Node 20. Its bundled
// dist/index.js imports `globSync` from 'fs', which only Node >= 22 exports, so on Node 20 the
// module fails to link before any command runs. globSync is used only by the `tier-check`
// command; this module-loader hook rewrites that one import to a stand-in (which handles the
// `**/<file name>` pattern tier-check uses), leaving every other line of the CLI as shipped.
//
//   node --import ./conformance_node20.mjs node_modules/@modelcontextprotocol/conformance/dist/index.js server --url ...
//
// (mcp_conformance.mjs does this for you.) On Node >= 22 the hook changes nothing.
import { register } from 'node:module';
import { isMainThread } from 'node:worker_threads';
import fs from 'node:fs';

// Registered from the main thread; the hooks themselves run in the loader thread.
if (isMainThread && typeof fs.globSync !== 'function') register(import.meta.url);

const STANDIN = `data:text/javascript,${encodeURIComponent(`
import fs from 'node:fs';
export function globSync(pattern, options = {}) {
  const m = /^\\*\\*\\/([^*?/]+)$/.exec(pattern);
  if (!m) throw new Error('globSync stand-in: unsupported pattern ' + pattern);
  const cwd = options.cwd || '.';
  return fs.readdirSync(cwd, { recursive: true }).map(String).filter((p) => path.basename(p) === m[1]);
}`)}`;

export async function load(url, context, nextLoad) {
  const result = await nextLoad(url, context);
  if (!url.includes('/@modelcontextprotocol/conformance/dist/') || result.source == null) return result;
  const source = String(result.source).replace(/import\{([^}]*)\}from"fs";/, (whole, names) => {
    const parts = names.split(',');
    const glob = parts.find((p) => p.trim().startsWith('globSync'));
    if (!glob) return whole;
    return `import{${parts.filter((p) => p !== glob).join(',')}}from"fs";import{${glob}}from"${STANDIN}";`;
  });
  return { ...result, source };
}
