// Talks to the portal's API (B portal-api/..., B being where the portal is published, e.g.
// /portal/). Every URL is relative to the page, so the portal works under any prefix; the
// session cookie goes along (same origin only). Calls other than GET carry the CSRF header
// that /portal-api/me names, with the value of the cookie it names.
import { useCallback, useEffect, useState, useSyncExternalStore } from 'react'

export class ApiError extends Error {
  constructor(message, status) {
    super(message)
    this.status = status
  }
}

// Filled in from /portal-api/me ({cookie, header}); the contract's names until then.
let csrf = { cookie: 'hub-csrf-token', header: 'Hub-Csrf-Token' }
export function setCsrf(value) {
  if (value && value.cookie && value.header) csrf = value
}

export function readCookie(name) {
  for (const part of document.cookie.split(';')) {
    const at = part.indexOf('=')
    if (at < 0) continue
    if (part.slice(0, at).trim() === name) {
      const value = part.slice(at + 1).trim()
      try {
        return decodeURIComponent(value)
      } catch {
        return value
      }
    }
  }
  return ''
}

// Segments of a path (names hold '@', app ids and key ids are opaque).
export const seg = (s) => encodeURIComponent(s)

// A value of this module that components follow: set(value) renders again every component
// whose hook (use) reads it.
function watched(value) {
  const listeners = new Set()
  const subscribe = (l) => {
    listeners.add(l)
    return () => listeners.delete(l)
  }
  const get = () => value
  return {
    get,
    set(next) {
      value = next
      listeners.forEach((l) => l())
    },
    use: () => useSyncExternalStore(subscribe, get),
  }
}

// Set when a call finds the session gone (a 401, or a redirect to the identity provider):
// the app then offers to sign in again instead of showing broken pages.
const signedOut = watched(false)
function markSignedOut() {
  if (!signedOut.get()) signedOut.set(true)
}
export const useSignedOut = signedOut.use

// method path [body] → the parsed JSON answer (null for 204). Errors: ApiError with the
// server's {"error"} message.
export async function call(method, path, body) {
  const headers = { Accept: 'application/json' }
  if (method !== 'GET') {
    headers[csrf.header] = readCookie(csrf.cookie)
    if (body !== undefined) headers['Content-Type'] = 'application/json'
  }
  let res
  try {
    res = await fetch('portal-api/' + path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      credentials: 'same-origin',
      cache: 'no-store',
      redirect: 'manual', // a redirect here is the login page: the session has ended
    })
  } catch (e) {
    throw new ApiError('the portal is not reachable (' + e.message + ')', 0)
  }
  if (res.type === 'opaqueredirect' || res.status === 401) {
    markSignedOut()
    throw new ApiError('your session has ended: sign in again', 401)
  }
  const text = await res.text()
  if (!res.ok) {
    let message = res.status + ' ' + (res.statusText || 'error')
    try {
      const parsed = JSON.parse(text)
      if (parsed && parsed.error) message = String(parsed.error)
    } catch {
      if (text.trim() && text.length < 300) message = text.trim()
    }
    throw new ApiError(message, res.status)
  }
  if (!text) return null
  try {
    return JSON.parse(text)
  } catch {
    throw new ApiError('the portal answered with something that is not JSON', res.status)
  }
}

export const get = (path) => call('GET', path)

// The resource at `path` (null: nothing to fetch): { data, error, loading, reload }.
export function useResource(path) {
  const [state, setState] = useState({ path, data: undefined, error: null })
  const [tick, setTick] = useState(0)
  useEffect(() => {
    if (path == null) return undefined
    let live = true
    get(path).then(
      (data) => live && setState({ path, data, error: null }),
      (error) => live && setState((s) => ({ path, data: s.path === path ? s.data : undefined, error })),
    )
    return () => {
      live = false
    }
  }, [path, tick])
  const reload = useCallback(() => setTick((t) => t + 1), [])
  const current = state.path === path
  return {
    data: current ? state.data : undefined,
    error: current ? state.error : null,
    loading: path != null && (!current || (state.data === undefined && !state.error)),
    reload,
  }
}

// The API key created or rotated last in this page session: the try-it consoles start with it.
// Kept in memory only (never in localStorage): a reload forgets it.
const lastKey = watched('')
export const rememberKey = lastKey.set
export const useLastKey = lastKey.use
