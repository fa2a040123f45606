// The try-it console of one operation: its path, query and header parameters, more headers,
// the body when the operation takes one, and an API key (the last one created in this page
// session to start with, when the API is on the portal's own origin; in memory only). Send calls
// the API through causeway at the document's base URL with `Authorization: Bearer <key>` and
// shows the status, headers and body. A base URL on another origin (the document names it) gets
// no key by itself, must be confirmed before a key is sent there, and plain http is refused from
// an https page.
import { useEffect, useMemo, useState } from 'react'
import { useLastKey } from './api.js'
import { sample } from './openapi.js'

function initialValue(p) {
  if (p.example === undefined || p.example === null) return ''
  return typeof p.example === 'object' ? JSON.stringify(p.example) : String(p.example)
}

function initialBody(doc, body) {
  if (!body) return ''
  const value = body.example !== undefined ? body.example : sample(doc, body.schema)
  if (value === null || value === undefined) return ''
  if (typeof value === 'string') return value
  return JSON.stringify(value, null, 2)
}

// "Name: value" lines → [[name, value]]; lines without a colon are ignored.
function parseHeaderLines(text) {
  return text
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && l.indexOf(':') > 0)
    .map((l) => [l.slice(0, l.indexOf(':')).trim(), l.slice(l.indexOf(':') + 1).trim()])
}

export function requestUrl(base, op, values) {
  let path = op.path.replace(/\{([^}]+)\}/g, (all, name) => {
    const v = values['path:' + name]
    return v ? encodeURIComponent(v) : all
  })
  const query = new URLSearchParams()
  for (const p of op.parameters) {
    if (p.in !== 'query') continue
    const v = values['query:' + p.name]
    if (v !== undefined && v !== '') query.append(p.name, v)
  }
  const qs = query.toString()
  if (!path.startsWith('/')) path = '/' + path
  return base + path + (qs ? '?' + qs : '')
}

function prettyBody(text, contentType) {
  if (/json/i.test(contentType || '') || /^\s*[[{]/.test(text)) {
    try {
      return JSON.stringify(JSON.parse(text), null, 2)
    } catch {
      /* shown as sent */
    }
  }
  return text
}

// Where `url` points, compared with the page: 'same', 'other' or 'downgrade' (http from https).
function originOf(url) {
  try {
    const u = new URL(url, window.location.href)
    if (u.origin === window.location.origin) return 'same'
    return window.location.protocol === 'https:' && u.protocol === 'http:' ? 'downgrade' : 'other'
  } catch {
    return 'other'
  }
}

export default function TryIt({ doc, op, base }) {
  const sameOrigin = originOf(base) === 'same'
  const newest = useLastKey()
  const lastKey = sameOrigin ? newest : ''
  const [key, setKey] = useState(lastKey)
  const [keyTouched, setKeyTouched] = useState(false)
  const [showKey, setShowKey] = useState(false)
  const [values, setValues] = useState(() =>
    Object.fromEntries(op.parameters.filter((p) => ['path', 'query', 'header'].includes(p.in)).map((p) => [p.in + ':' + p.name, initialValue(p)])),
  )
  const [extraHeaders, setExtraHeaders] = useState('')
  const [body, setBody] = useState(() => initialBody(doc, op.body))
  const [contentType, setContentType] = useState(op.body ? op.body.contentTypes[0] || 'application/json' : '')
  const [sending, setSending] = useState(false)
  const [result, setResult] = useState(null)

  // A key created after this console opened fills the field, unless the user typed one.
  useEffect(() => {
    if (!keyTouched) setKey(lastKey)
  }, [lastKey, keyTouched])

  const url = useMemo(() => requestUrl(base, op, values), [base, op, values])
  const hasBody = !!op.body || ['post', 'put', 'patch'].includes(op.method)
  const shown = op.parameters.filter((p) => ['path', 'query', 'header'].includes(p.in))

  const send = async (e) => {
    e.preventDefault()
    const where = originOf(url)
    if (where === 'downgrade') {
      setResult({ error: 'refused: this page is on https and the API address is plain http (' + url + ')' })
      return
    }
    if (where === 'other' && key.trim() && !window.confirm('Send your API key to ' + new URL(url, window.location.href).origin + '?')) return
    setSending(true)
    setResult(null)
    const headers = new Headers()
    try {
      for (const p of shown) {
        const v = values[p.in + ':' + p.name]
        if (p.in === 'header' && v) headers.set(p.name, v)
      }
      for (const [name, value] of parseHeaderLines(extraHeaders)) headers.set(name, value)
      if (key.trim()) headers.set('Authorization', 'Bearer ' + key.trim())
      if (hasBody && body !== '' && contentType && !headers.has('Content-Type')) headers.set('Content-Type', contentType)
    } catch (err) {
      setResult({ error: 'invalid header: ' + err.message })
      setSending(false)
      return
    }
    const started = performance.now()
    try {
      const res = await fetch(url, {
        method: op.method.toUpperCase(),
        headers,
        body: hasBody && body !== '' ? body : undefined,
        credentials: 'omit', // the API key is the credential, not the portal's session
        cache: 'no-store',
      })
      const text = await res.text()
      setResult({
        status: res.status,
        statusText: res.statusText,
        headers: [...res.headers.entries()],
        body: prettyBody(text, res.headers.get('content-type')),
        ms: Math.round(performance.now() - started),
      })
    } catch (err) {
      setResult({ error: 'the request failed: ' + err.message + ' (a server on another origin must allow it with CORS)' })
    } finally {
      setSending(false)
    }
  }

  return (
    <form className="tryit" onSubmit={send} data-testid="tryit">
      <div className="tryit-url" data-testid="tryit-url">
        <span className={'method method-' + op.method}>{op.method.toUpperCase()}</span> <code>{url}</code>
      </div>
      {shown.length > 0 && (
        <div className="tryit-grid">
          {shown.map((p) => (
            <label key={p.in + p.name} className="tryit-field">
              <span className="tryit-label">
                {p.name}
                {p.required && <span className="required">*</span>} <span className="muted">{p.in}</span>
              </span>
              <input
                type="text"
                value={values[p.in + ':' + p.name] ?? ''}
                onChange={(e) => setValues({ ...values, [p.in + ':' + p.name]: e.target.value })}
                required={p.in === 'path'}
                data-testid="tryit-param"
                data-name={p.name}
                data-in={p.in}
              />
            </label>
          ))}
        </div>
      )}
      <label className="tryit-field">
        <span className="tryit-label">API key</span>
        <span className="key-input">
          <input
            type={showKey ? 'text' : 'password'}
            value={key}
            onChange={(e) => {
              setKey(e.target.value)
              setKeyTouched(true)
            }}
            placeholder="cw_… (create one under Applications)"
            autoComplete="off"
            spellCheck="false"
            className="mono"
            data-testid="tryit-key"
          />
          <button type="button" className="button small" onClick={() => setShowKey(!showKey)} data-testid="tryit-key-show">
            {showKey ? 'Hide' : 'Show'}
          </button>
        </span>
      </label>
      <label className="tryit-field">
        <span className="tryit-label">
          More headers <span className="muted">(one "Name: value" a line)</span>
        </span>
        <textarea rows={2} value={extraHeaders} onChange={(e) => setExtraHeaders(e.target.value)} className="mono" data-testid="tryit-headers" />
      </label>
      {hasBody && (
        <label className="tryit-field">
          <span className="tryit-label">
            Body{' '}
            {op.body && op.body.contentTypes.length > 1 ? (
              <select value={contentType} onChange={(e) => setContentType(e.target.value)} data-testid="tryit-content-type">
                {op.body.contentTypes.map((t) => (
                  <option key={t}>{t}</option>
                ))}
              </select>
            ) : (
              <span className="muted">{contentType || 'application/json'}</span>
            )}
          </span>
          <textarea rows={8} value={body} onChange={(e) => setBody(e.target.value)} className="mono" spellCheck="false" data-testid="tryit-body" />
        </label>
      )}
      <div className="tryit-actions">
        <button type="submit" className="button primary" disabled={sending} data-testid="tryit-send">
          {sending ? 'Sending…' : 'Send'}
        </button>
      </div>
      {result && result.error && (
        <div className="problem" data-testid="tryit-error">
          {result.error}
        </div>
      )}
      {result && !result.error && (
        <div className="tryit-response" data-testid="tryit-response">
          <div>
            <span className={'status status-' + String(result.status)[0]} data-testid="tryit-status">
              {result.status}
            </span>{' '}
            <span className="muted">
              {result.statusText} · {result.ms} ms
            </span>
          </div>
          <pre className="json" data-testid="tryit-response-headers">
            {result.headers.map(([k, v]) => k + ': ' + v).join('\n')}
          </pre>
          <pre className="json" data-testid="tryit-response-body">
            {result.body || ' '}
          </pre>
        </div>
      )}
    </form>
  )
}
