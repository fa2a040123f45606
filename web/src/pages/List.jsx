// Searchable, filterable, paginated lists of HTTP, TCP and UDP routers, services and middlewares.
// The filtering and paging are the API's own (search, status, page, per_page, X-Next-Page).
import { useEffect, useState } from 'react'
import { providerOf, useApi } from '../api.js'
import { ListToolbar, Loading, Problem, ProviderTag, StatusBadge, TlsTag } from '../components.jsx'
import { href } from '../../shared/router.js'

const TITLES = { routers: 'Routers', services: 'Services', middlewares: 'Middlewares' }
const PER_PAGE = 50
const STATUSES = [
  ['enabled', 'Success'],
  ['warning', 'Warnings'],
  ['disabled', 'Errors'],
]

function serversSummary(service) {
  const servers = service.loadBalancer?.servers || []
  const status = service.serverStatus || {}
  const down = Object.values(status).filter((s) => s !== 'UP').length
  if (!servers.length) return <span className="muted">—</span>
  return (
    <span>
      {servers.length}
      {down > 0 && (
        <span className="badge health-down small" title={down + ' down'}>
          {down} down
        </span>
      )}
    </span>
  )
}

// Priorities near MaxInt64 (causeway's and Traefik's own routers) read better by name.
export function priorityLabel(text) {
  if (!text || text.length < 19) return text
  try {
    const below = 9223372036854775807n - BigInt(text)
    if (below >= 0n && below < 100n) return below === 0n ? 'MaxInt' : 'MaxInt−' + below
  } catch {
    /* not a number */
  }
  return text
}

// [title, render(item, protocol), class]: the same columns for HTTP and TCP ('http', 'tcp');
// UDP routers have no TLS, rule or priority (NOT_UDP).
const COLUMNS = {
  routers: [
    ['Status', (r) => <StatusBadge status={r.status} />, 'col-status'],
    ['TLS', (r) => <TlsTag tls={r.tls} />, 'col-tls'],
    ['Rule', (r) => <code className="rule">{r.rule}</code>],
    ['Entrypoints', (r) => (r.using || r.entryPoints || []).join(', ')],
    ['Name', (r, p) => <a href={href(p, 'routers', r.name)}>{r.name}</a>],
    ['Service', (r) => r.service],
    ['Provider', (r) => <ProviderTag provider={r.provider} />],
    ['Priority', (r) => <span title={r.priorityStr}>{priorityLabel(r.priorityStr)}</span>, 'col-num'],
  ],
  services: [
    ['Status', (s) => <StatusBadge status={s.status} />, 'col-status'],
    ['Name', (s, p) => <a href={href(p, 'services', s.name)}>{s.name}</a>],
    ['Type', (s) => s.type || <span className="muted">—</span>],
    ['Servers', serversSummary, 'col-num'],
    ['Provider', (s) => <ProviderTag provider={s.provider || providerOf(s.name)} />],
  ],
  middlewares: [
    ['Status', (m) => <StatusBadge status={m.status} />, 'col-status'],
    ['Name', (m, p) => <a href={href(p, 'middlewares', m.name)}>{m.name}</a>],
    ['Type', (m) => m.type],
    ['Provider', (m) => <ProviderTag provider={m.provider} />],
  ],
}

const NOT_UDP = ['TLS', 'Rule', 'Priority']

export default function List({ kind, query, protocol = 'http' }) {
  const [search, setSearch] = useState(query.get('search') || '')
  const [debounced, setDebounced] = useState(search)
  const [status, setStatus] = useState(query.get('status') || '')
  const [page, setPage] = useState(1)
  useEffect(() => {
    const t = setTimeout(() => setDebounced(search.trim()), 200)
    return () => clearTimeout(t)
  }, [search])
  useEffect(() => setPage(1), [debounced, status, kind, protocol])
  const params = new URLSearchParams({ per_page: String(PER_PAGE), page: String(page) })
  if (debounced) params.set('search', debounced)
  if (status) params.set('status', status)
  const { data, error, nextPage } = useApi('/' + protocol + '/' + kind + '?' + params.toString())
  const columns = COLUMNS[kind].filter(([title]) => protocol !== 'udp' || !NOT_UDP.includes(title))
  return (
    <div className="page">
      <h1>{protocol.toUpperCase() + ' ' + TITLES[kind]}</h1>
      <ListToolbar
        search={search}
        onSearch={setSearch}
        placeholder={kind === 'routers' && protocol !== 'udp' ? 'Search by name or rule' : 'Search by name'}
        status={status}
        onStatus={setStatus}
        statuses={STATUSES}
      />
      <Problem error={error} />
      {!data && !error ? (
        <Loading />
      ) : (
        <table className="table list" data-testid={'list-' + kind} data-protocol={protocol}>
          <thead>
            <tr>
              {columns.map(([title, , cls]) => (
                <th key={title} className={cls}>
                  {title}
                </th>
              ))}
            </tr>
          </thead>
          <tbody>
            {(data || []).length === 0 && (
              <tr>
                <td colSpan={columns.length} className="muted empty" data-testid="empty">
                  Nothing to show.
                </td>
              </tr>
            )}
            {(data || []).flatMap((item) => {
              const rows = [
                <tr key={item.name} data-testid="row" data-name={item.name} className={'row-' + item.status} onClick={(e) => {
                  if (e.target.closest('a')) return
                  window.location.hash = href(protocol, kind, item.name)
                }}>
                  {columns.map(([title, render, cls]) => (
                    <td key={title} className={cls}>
                      {render(item, protocol)}
                    </td>
                  ))}
                </tr>,
              ]
              if (item.error && item.error.length)
                rows.push(
                  <tr key={item.name + '#error'} className={'error-row row-' + item.status} data-testid="row-error">
                    <td />
                    <td colSpan={columns.length - 1} className="error-text">
                      {item.error.join('; ')}
                    </td>
                  </tr>,
                )
              return rows
            })}
          </tbody>
        </table>
      )}
      <div className="pager">
        <button type="button" disabled={page <= 1} onClick={() => setPage(page - 1)}>
          ‹ Previous
        </button>
        <span data-testid="page">Page {page}</span>
        <button type="button" disabled={!(nextPage > page)} onClick={() => setPage(page + 1)}>
          Next ›
        </button>
      </div>
    </div>
  )
}
