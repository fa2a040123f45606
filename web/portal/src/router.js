// Hash routing (#/apis/weather@file): the whole portal is one page at B (e.g. /portal/), so
// the server needs no fallback and the session cookie's path covers every page.
import { useEffect, useState } from 'react'

export function parseHash(hash) {
  const raw = (hash || '').replace(/^#/, '') || '/'
  const [pathPart, queryPart = ''] = raw.split('?')
  const parts = pathPart
    .split('/')
    .filter(Boolean)
    .map((p) => {
      try {
        return decodeURIComponent(p)
      } catch {
        return p
      }
    })
  return { parts, query: new URLSearchParams(queryPart) }
}

export function useRoute() {
  const [hash, setHash] = useState(window.location.hash)
  useEffect(() => {
    const onChange = () => {
      setHash(window.location.hash)
      window.scrollTo(0, 0)
    }
    window.addEventListener('hashchange', onChange)
    return () => window.removeEventListener('hashchange', onChange)
  }, [])
  return parseHash(hash)
}

export const href = (...parts) => '#/' + parts.map((p) => encodeURIComponent(p)).join('/')
