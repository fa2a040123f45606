// Drives Debian's Chromium with playwright-core for the dashboard tests (test_dashboard*.py):
// reads one JSON command per line on stdin, answers one JSON line on stdout. Commands:
//   {op: "goto", url}            {op: "text", selector}       {op: "count", selector}
//   {op: "fill", selector, value} {op: "click", selector}     {op: "select", selector, value}
//   {op: "wait", selector, text?, timeout?}  (until an element matching selector [containing text] is visible)
//   {op: "screenshot", path}     {op: "errors"} (console errors and page errors so far)
//   {op: "cookies"} (the context's cookies)  {op: "setCookie", cookie} (playwright's cookie object)
//   {op: "url"} (the page's URL)
//   {op: "value", selector} (an input's or textarea's current value)
//   {op: "eval", expression} (the JSON-serializable value of a JavaScript expression in the page)
//   {op: "close"}
// Loopback only: causeway's pages and the test's own OpenID provider; nothing else is fetched.
'use strict'
const fs = require('fs')
const os = require('os')
const path = require('path')
const readline = require('readline')
const { chromium } = require('playwright-core')

async function main() {
  const userDataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'cw-chromium-'))
  const context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    viewport: { width: 1360, height: 900 },
  })
  const page = context.pages()[0] || (await context.newPage())
  const errors = []
  page.on('console', (m) => { if (m.type() === 'error') errors.push('console: ' + m.text()) })
  page.on('pageerror', (e) => errors.push('page: ' + e.message))
  // A request the page itself cancelled (the test navigated away while the dashboard was polling)
  // fails with net::ERR_ABORTED; that is not an error of the page. Resets, refusals and empty
  // replies still are.
  page.on('requestfailed', (r) => {
    const reason = r.failure()?.errorText || ''
    if (reason !== 'net::ERR_ABORTED') errors.push('request failed: ' + r.url() + ' ' + reason)
  })

  const handlers = {
    goto: async (c) => { await page.goto(c.url, { waitUntil: 'load', timeout: 15000 }); return page.url() },
    text: async (c) => page.locator(c.selector).first().innerText({ timeout: 10000 }),
    texts: async (c) => page.locator(c.selector).allInnerTexts(),
    count: async (c) => page.locator(c.selector).count(),
    fill: async (c) => { await page.locator(c.selector).first().fill(c.value, { timeout: 10000 }); return true },
    click: async (c) => { await page.locator(c.selector).first().click({ timeout: 10000 }); return page.url() },
    select: async (c) => { await page.locator(c.selector).first().selectOption(c.value, { timeout: 10000 }); return true },
    wait: async (c) => {
      let loc = page.locator(c.selector)
      if (c.text) loc = loc.filter({ hasText: c.text })
      await loc.first().waitFor({ state: 'visible', timeout: c.timeout || 10000 })
      return loc.first().innerText()
    },
    screenshot: async (c) => { await page.screenshot({ path: c.path, fullPage: true }); return c.path },
    errors: async () => errors.slice(),
    cookies: async () => context.cookies(),
    setCookie: async (c) => { await context.addCookies([c.cookie]); return true },
    url: async () => page.url(),
    value: async (c) => page.locator(c.selector).first().inputValue({ timeout: 10000 }),
    eval: async (c) => page.evaluate(c.expression),
    close: async () => { await context.close(); fs.rmSync(userDataDir, { recursive: true, force: true }); return true },
  }

  const rl = readline.createInterface({ input: process.stdin })
  for await (const line of rl) {
    if (!line.trim()) continue
    let reply
    try {
      const command = JSON.parse(line)
      const value = await handlers[command.op](command)
      reply = { ok: true, value }
      if (command.op === 'close') { process.stdout.write(JSON.stringify(reply) + '\n'); break }
    } catch (e) {
      reply = { ok: false, error: String(e && e.message ? e.message : e) }
    }
    process.stdout.write(JSON.stringify(reply) + '\n')
  }
  process.exit(0)
}

main().catch((e) => { process.stdout.write(JSON.stringify({ ok: false, error: 'launch: ' + e.message }) + '\n'); process.exit(1) })
