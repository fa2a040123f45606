// Talks to causeway's API (Traefik's /api). The API lives beside the dashboard: for
// /dashboard/ it is /api, for /base/dashboard/ it is /base/api (api.basePath or a prefix
// added by a proxy), so the address is derived from where the page was loaded.
import { createContext, useContext, useEffect, useState } from 'react'

export function apiBase(pathname = window.location.pathname) {
  const at = pathname.lastIndexOf('/dashboard/')
  const prefix = at >= 0 ? pathname.slice(0, at) : pathname.replace(/\/+$/, '')
  return prefix + '/api'
}

export const API = apiBase()

export class ApiError extends Error {
  constructor(message, status) {
    super(message)
    this.status = status
  }
}

// GET path → { data, nextPage }. Errors carry the API's {"message"} when it sent one.
export async function getJSON(path) {
  let res
  try {
    res = await fetch(API + path, { cache: 'no-store', headers: { Accept: 'application/json' } })
  } catch (e) {
    throw new ApiError('causeway is not reachable (' + e.message + ')', 0)
  }
  const text = await res.text()
  if (!res.ok) {
    let message = res.status + ' ' + res.statusText
    try {
      message = JSON.parse(text).message || message
    } catch {
      if (text.trim()) message = text.trim()
    }
    throw new ApiError(message, res.status)
  }
  return { data: JSON.parse(text), nextPage: parseInt(res.headers.get('X-Next-Page') || '1', 10) }
}

// A counter that moves on every automatic refresh (and on demand): pages re-fetch on it.
export const RefreshContext = createContext({ tick: 0 })

// The resource at `path`, fetched again on every refresh tick. Keeps the last good data
// while a refresh is in flight or failed, so the page does not flicker.
export function useApi(path) {
  const { tick } = useContext(RefreshContext)
  const [state, setState] = useState({ data: undefined, error: null, nextPage: 1, path })
  useEffect(() => {
    if (path == null) return undefined
    let live = true
    getJSON(path).then(
      ({ data, nextPage }) => live && setState({ data, nextPage, error: null, path }),
      (error) =>
        live &&
        setState((s) => ({ ...s, error, data: s.path === path && error.status !== 404 ? s.data : undefined, path })),
    )
    return () => {
      live = false
    }
  }, [path, tick])
  const current = state.path === path
  return { data: current ? state.data : undefined, error: current ? state.error : null, nextPage: state.nextPage, loading: current && state.data === undefined && !state.error }
}

// The element name as a URL path segment (names may hold '/' or '@').
export const seg = (name) => encodeURIComponent(name)

// "name@provider" → provider; a name without provider gets `fallback`.
export function providerOf(name, fallback = '') {
  const at = name ? name.indexOf('@') : -1
  return at >= 0 ? name.slice(at + 1) : fallback
}

// Qualifies a reference the way causeway and Traefik resolve it: within the referrer's provider.
export function qualify(name, provider) {
  if (!name) return name
  return name.includes('@') ? name : name + '@' + provider
}

// An element that may not exist (a router's service or middleware): looked up through the
// list's search, so a missing one is "not found" without a failed request in the console.
// protocol: 'http', 'tcp' or 'udp'.
export function useElement(kind, name, protocol = 'http') {
  const { data, error } = useApi(name ? '/' + protocol + '/' + kind + '?per_page=1000&search=' + encodeURIComponent(name) : null)
  const found = (data || []).find((item) => item.name === name)
  const missing = data !== undefined && !found
  return { data: found, error: error || (missing ? new ApiError('not found', 404) : null) }
}
