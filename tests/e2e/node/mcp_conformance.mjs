// Runs the official MCP conformance suite (@modelcontextprotocol/conformance, its `server` command)
// against an MCP server URL and prints ONE JSON line on stdout:
//
//   {"passed": N, "failed": N, "total": N, "warnings": N, "scenarios": {name: {passed, failed, warnings}},
//    "failedScenarios": [...], "cliExitCode": N, "resultsDir": "...", "url": "..."}
//
//   node mcp_conformance.mjs <url> [--scenario S]... [--suite active|all|pending]
//                                  [--spec-version V] [--out DIR] [--timeout MS]
//   node mcp_conformance.mjs --everything [same options]
//
//   <url>           the MCP endpoint to test, e.g. http://127.0.0.1:8080/mcp
//   --everything    first start @modelcontextprotocol/server-everything (streamable HTTP, in this
//                   process, on 127.0.0.1 and a free port) and test it at /mcp; a baseline for
//                   what the suite scores without a gateway in between.
//   --scenario S    run only scenario S (repeatable); default: the CLI's "active" suite.
//   --out DIR       keep the CLI's per-scenario checks.json and its console log (cli.log) there
//                   (default: a fresh temporary directory, also kept).
//   --timeout MS    give up on the CLI after MS (default 300000).
//
// passed/failed count conformance *checks* the way the CLI's own "Total:" line does (status
// SUCCESS / FAILURE; WARNING and INFO are not counted); total = passed + failed. A scenario
// counts as failed when any of its checks failed. The CLI's exit status (1 when any check failed)
// is reported as cliExitCode; this script itself exits 0 whenever it printed its JSON line, 2 for
// a bad argument.
//
// What the suite expects of the server: its scenarios call fixtures by name (tools test_simple_text,
// test_image_content, test_tool_with_logging, test_tool_with_progress, test_sampling,
// test_elicitation, ...; prompts test_simple_prompt, test_prompt_with_arguments, ...; resources
// test://static-text, test://static-binary, test://template/{id}/data, test://watched-resource).
// Those are the conformance repository's own "everything-server" example, which is not shipped in
// the npm package; the npm server-everything has different names, so against it only the
// fixture-independent scenarios pass (initialize, ping, logging, tools-list, resources/prompts
// lists, subscribe, SSE streams, ...). The suite speaks 2025-era Streamable HTTP only (1.x SDK
// client, sessions); it has no 2026-07-28 scenarios.
//
// The CLI needs Node >= 22 as shipped (fs.globSync); on Node 20 it is started through
// conformance_node20.mjs, a loader hook that patches just that import.
import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const require = createRequire(import.meta.url);

function usage(msg) {
  process.stderr.write(`mcp_conformance.mjs: ${msg}\n`);
  process.exit(2);
}

function parseArgs(argv) {
  const o = { url: null, everything: false, scenarios: [], suite: null, specVersion: null, out: null, timeout: 300000 };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const next = () => { if (i + 1 >= argv.length) usage(`${a} needs a value`); return argv[++i]; };
    if (a === '--everything') o.everything = true;
    else if (a === '--scenario') o.scenarios.push(next());
    else if (a === '--suite') o.suite = next();
    else if (a === '--spec-version') o.specVersion = next();
    else if (a === '--out') o.out = next();
    else if (a === '--timeout') o.timeout = Number(next());
    else if (a.startsWith('--')) usage(`unknown option ${a}`);
    else if (o.url === null) o.url = a;
    else usage(`unexpected argument ${a}`);
  }
  if (!o.url && !o.everything) usage('expected <url> or --everything');
  return o;
}

// Starts server-everything's streamable HTTP transport in this process. Its module listens on
// $PORT on every interface as soon as it is imported; listen() is narrowed to 127.0.0.1 here and
// its console output goes to stderr so that stdout keeps only our JSON line.
async function startEverything() {
  const origListen = net.Server.prototype.listen;
  let resolvePort;
  const port = new Promise((r) => { resolvePort = r; });
  net.Server.prototype.listen = function (...args) {
    if (typeof args[0] === 'number' || /^\d+$/.test(String(args[0]))) {
      const cb = args.find((a) => typeof a === 'function');
      this.once('listening', () => resolvePort(this.address().port));
      return origListen.call(this, Number(args[0]), '127.0.0.1', cb);
    }
    return origListen.apply(this, args);
  };
  console.log = (...a) => process.stderr.write(a.join(' ') + '\n');
  process.env.PORT = '0';
  const pkg = path.dirname(require.resolve('@modelcontextprotocol/server-everything/package.json'));
  await import(pathToFileURL(path.join(pkg, 'dist/transports/streamableHttp.js')).href);
  return `http://127.0.0.1:${await port}/mcp`;
}

function countChecks(resultsDir) {
  const scenarios = {};
  let passed = 0, failed = 0, warnings = 0;
  for (const d of fs.readdirSync(resultsDir).sort()) {
    const file = path.join(resultsDir, d, 'checks.json');
    if (!fs.existsSync(file)) continue;
    // Directory names are server-<scenario>-<timestamp>.
    const name = d.replace(/^server-/, '').replace(/-\d{4}-\d\d-\d\dT[\d-]+Z$/, '');
    const checks = JSON.parse(fs.readFileSync(file, 'utf8'));
    const s = { passed: 0, failed: 0, warnings: 0, failures: [] };
    for (const c of checks) {
      if (c.status === 'SUCCESS') s.passed++;
      else if (c.status === 'FAILURE') { s.failed++; s.failures.push(`${c.id}: ${c.errorMessage ?? ''}`.slice(0, 300)); }
      else if (c.status === 'WARNING') s.warnings++;
    }
    scenarios[name] = s;
    passed += s.passed; failed += s.failed; warnings += s.warnings;
  }
  return { passed, failed, total: passed + failed, warnings, scenarios,
           failedScenarios: Object.keys(scenarios).filter((k) => scenarios[k].failed > 0) };
}

function runCli(args, logFile, timeoutMs) {
  const cli = path.join(path.dirname(require.resolve('@modelcontextprotocol/conformance/package.json')), 'dist/index.js');
  const log = fs.openSync(logFile, 'a');
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', pathToFileURL(path.join(here, 'conformance_node20.mjs')).href, cli, ...args],
                        { stdio: ['ignore', log, log], cwd: path.dirname(logFile) });
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('exit', (code, signal) => { clearTimeout(timer); fs.closeSync(log); resolve(code ?? (signal ? 128 : 1)); });
  });
}

async function main() {
  const o = parseArgs(process.argv.slice(2));
  const url = o.everything ? await startEverything() : o.url;
  const resultsDir = o.out ? path.resolve(o.out) : fs.mkdtempSync(path.join(os.tmpdir(), 'mcp-conformance-'));
  fs.mkdirSync(resultsDir, { recursive: true });
  const logFile = path.join(resultsDir, 'cli.log');
  let cliExitCode = 0;
  const common = ['--url', url, '-o', resultsDir];
  if (o.specVersion) common.push('--spec-version', o.specVersion);
  if (o.scenarios.length === 0) {
    cliExitCode = await runCli(['server', ...common, ...(o.suite ? ['--suite', o.suite] : [])], logFile, o.timeout);
  } else {
    for (const s of o.scenarios) {
      const code = await runCli(['server', ...common, '--scenario', s], logFile, o.timeout);
      cliExitCode = Math.max(cliExitCode, code);
    }
  }
  const summary = countChecks(resultsDir);
  process.stdout.write(JSON.stringify({ passed: summary.passed, failed: summary.failed, total: summary.total,
                                        warnings: summary.warnings, url, cliExitCode, resultsDir,
                                        failedScenarios: summary.failedScenarios, scenarios: summary.scenarios }) + '\n');
}

main().then(() => process.exit(0), (e) => {
  process.stderr.write(`mcp_conformance.mjs: ${e?.stack || e}\n`);
  process.exit(1);
});
