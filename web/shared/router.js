// Hash routing for the dashboard (#/http/routers/name, at /dashboard/) and the developer portal
// (#/apis/weather@file, at B e.g. /portal/): each app is one page, so the server needs no
// fallback, links keep working behind prefixes and the portal's session cookie path covers
// every page.
import { useEffect, useState } from 'react'

export function parseHash(hash) {
  const raw = (hash || '').replace(/^#/, '') || '/'
  const [pathPart, queryPart = ''] = raw.split('?')
  const parts = pathPart.split('/').filter(Boolean).map((p) => {
    try {
      return decodeURIComponent(p)
    } catch {
      return p
    }
  })
  return { parts, query: new URLSearchParams(queryPart) }
}

// The current route, { parts, query }. scrollToTop: a new route starts at the top of the page
// (the portal's long documentation pages), rather than where the previous one was scrolled to.
export function useRoute({ scrollToTop = false } = {}) {
  const [hash, setHash] = useState(window.location.hash)
  useEffect(() => {
    const onChange = () => {
      setHash(window.location.hash)
      if (scrollToTop) window.scrollTo(0, 0)
    }
    window.addEventListener('hashchange', onChange)
    return () => window.removeEventListener('hashchange', onChange)
  }, [scrollToTop])
  return parseHash(hash)
}

export const href = (...parts) => '#/' + parts.map((p) => encodeURIComponent(p)).join('/')
