// The API management resources (GET /api/apimanagement/<kind>, docs/api-management.md): one
// table per kind — APIs, versions, plans, applications, subscriptions, bundles, auths, and the
// developer portal's catalog items, portals, sign-ins and content items — each resource
// with its status, the facts that matter for its kind (an API's title; a plan's rate limit and
// quota with their buckets; an application's appId, owner and keys; what a subscription gives
// which applications, on which plan), who uses it, and its errors (its conditions) below it.
// The search and the status filter are the API's own and apply to every table.
import { useEffect, useState } from 'react'
import { useApi } from '../api.js'
import { Chips, ListToolbar, Loading, Problem, StatusBadge, TableStart } from '../components.jsx'

const PER_PAGE = 100
const STATUSES = [
  ['enabled', 'Success'],
  ['warning', 'Warnings'],
  ['disabled', 'Errors'],
]
const BUCKETS = { subscription: 'per subscription', 'application-api': 'per application and API', application: 'per application' }

const none = <span className="muted">—</span>

// "weather@file" → "weather".
const bare = (name) => (name.includes('@') ? name.slice(0, name.lastIndexOf('@')) : name)

// The names of a list of references ({name}).
const names = (refs) => (refs || []).map((r) => r.name)

// A Go duration without its zero units: "1h0m0s" → "1h", "2m0s" → "2m"; "10s" stays.
const shortDuration = (d) => d.replace(/(\D)0s$/, '$1').replace(/(\D)0m$/, '$1')

// A plan's rateLimit or quota: "2 / 10s" and what it counts on.
function Limit({ limit }) {
  if (!limit) return none
  const bucket = limit.bucket || 'subscription'
  return (
    <span>
      <span data-testid="limit">{(limit.limit || 0) + ' / ' + shortDuration(limit.period || '1s')}</span>{' '}
      <span className="muted" data-testid="bucket" data-bucket={bucket}>
        {BUCKETS[bucket] || bucket}
      </span>
    </span>
  )
}

// An application's keys (their values never leave causeway): how many, how many suspended.
function Keys({ spec }) {
  const keys = spec.apiKeys || []
  const suspended = keys.filter((k) => k.suspended).length
  return (
    <span
      data-testid="keys"
      data-keys={keys.length}
      data-suspended={suspended}
      title={keys.map((k) => (k.title || 'untitled') + (k.suspended ? ' (suspended)' : '')).join('\n')}
    >
      {keys.length + (keys.length === 1 ? ' key' : ' keys')}
      {suspended > 0 && <span className="suspended">, {suspended} suspended</span>}
      {spec.suspended && (
        <span className="badge badge-disabled small" data-testid="app-suspended">
          suspended
        </span>
      )}
    </span>
  )
}

// How an APIAuth identifies callers: an API key (and where it is read), JWT or LDAP.
function AuthMethod({ spec }) {
  if (spec.apiKey) {
    const s = spec.apiKey.keySource || {}
    const where = [
      s.header && 'header ' + s.header + (s.headerAuthScheme ? ' (' + s.headerAuthScheme + ')' : ''),
      s.query && 'query ' + s.query,
      s.cookie && 'cookie ' + s.cookie,
    ].filter(Boolean)
    return (
      <span>
        API key{where.length > 0 && <span className="muted"> from {where.join(', ')}</span>}
      </span>
    )
  }
  if (spec.jwt) return 'JWT'
  if (spec.ldap) return 'LDAP'
  return none
}

// Which applications a subscription gives which APIs (and bundles of APIs).
function Subscribes({ spec }) {
  const targets = [...names(spec.apis), ...names(spec.apiBundles).map((b) => 'bundle ' + b)]
  return (
    <span>
      <span data-testid="applications">
        <Chips items={names(spec.managedApplications)} />
      </span>
      <span className="muted"> → </span>
      <span data-testid="apis">
        <Chips items={targets} />
      </span>
    </span>
  )
}

const STATUS_COLUMN = ['Status', (r) => <StatusBadge status={r.status} />, undefined, 'col-status']
const NAME_COLUMN = ['Name', (r) => <span className="strong">{r.name}</span>, 'name']
const USED_BY_COLUMN = ['Used by', (r) => <Chips items={r.usedBy} />, 'used-by']

// The tables in order: [kind, title, text when there is none, columns]. A column is
// [title, render(resource, spec), testid of the cell, class]; the status cell holds the badge
// (data-testid=status, data-status).
const SECTIONS = [
  [
    'apis',
    'APIs',
    'No APIs.',
    [
      STATUS_COLUMN,
      NAME_COLUMN,
      ['Title', (r, s) => s.title || none, 'title'],
      ['Description', (r, s) => s.description || none, 'description'],
      ['Versions', (r, s) => <Chips items={names(s.versions)} />, 'versions'],
      USED_BY_COLUMN,
    ],
  ],
  [
    'apiVersions',
    'Versions',
    'No versions.',
    [
      STATUS_COLUMN,
      NAME_COLUMN,
      ['Release', (r, s) => s.release || none, 'release'],
      ['Title', (r, s) => s.title || none, 'title'],
      USED_BY_COLUMN,
    ],
  ],
  [
    'apiPlans',
    'Plans',
    'No plans.',
    [
      STATUS_COLUMN,
      NAME_COLUMN,
      ['Title', (r, s) => s.title || none, 'title'],
      ['Rate limit', (r, s) => <Limit limit={s.rateLimit} />, 'rate-limit'],
      ['Quota', (r, s) => <Limit limit={s.quota} />, 'quota'],
      USED_BY_COLUMN,
    ],
  ],
  [
    'managedApplications',
    'Applications',
    'No applications.',
    [
      STATUS_COLUMN,
      NAME_COLUMN,
      ['App ID', (r, s) => s.appId || <span title="the resource's name">{bare(r.name)}</span>, 'app-id'],
      ['Owner', (r, s) => s.owner || none, 'owner'],
      ['Keys', (r, s) => <Keys spec={s} />, 'api-keys'],
      USED_BY_COLUMN,
    ],
  ],
  [
    'managedSubscriptions',
    'Subscriptions',
    'No subscriptions.',
    [
      STATUS_COLUMN,
      NAME_COLUMN,
      ['Applications → APIs', (r, s) => <Subscribes spec={s} />, 'subscribes'],
      ['Plan', (r, s) => s.apiPlan?.name || none, 'plan'],
      ['Weight', (r, s) => s.weight || 0, 'weight', 'col-num'],
    ],
  ],
  [
    'apiBundles',
    'Bundles',
    'No bundles.',
    [
      STATUS_COLUMN,
      NAME_COLUMN,
      ['Title', (r, s) => s.title || none, 'title'],
      ['APIs', (r, s) => <Chips items={names(s.apis)} />, 'apis'],
      USED_BY_COLUMN,
    ],
  ],
  [
    'apiAuths',
    'Auths',
    'No auths.',
    [
      STATUS_COLUMN,
      NAME_COLUMN,
      ['Method', (r, s) => <AuthMethod spec={s} />, 'method'],
      ['Default', (r, s) => (s.isDefault ? 'default' : none), 'default'],
      USED_BY_COLUMN,
    ],
  ],
  [
    'apiCatalogItems',
    'Catalog items',
    'No catalog items.',
    [
      STATUS_COLUMN,
      NAME_COLUMN,
      ['Shown to', (r, s) => (s.everyone ? 'everyone' : <Chips items={s.groups || []} />), 'shown-to'],
      ['APIs', (r, s) => <Chips items={[...names(s.apis), ...names(s.apiBundles)]} />, 'apis'],
      ['Plan', (r, s) => s.apiPlan?.name || none, 'plan'],
    ],
  ],
  [
    'apiPortals',
    'Portals',
    'No portals.',
    [
      STATUS_COLUMN,
      NAME_COLUMN,
      ['Title', (r, s) => s.title || none, 'title'],
      ['Addresses', (r, s) => <Chips items={s.trustedUrls || []} />, 'trusted-urls'],
      ['Sign-in', (r, s) => s.auth?.name || none, 'auth'],
      USED_BY_COLUMN,
    ],
  ],
  [
    'apiPortalAuths',
    'Portal sign-ins',
    'No portal sign-ins.',
    [
      STATUS_COLUMN,
      NAME_COLUMN,
      ['Provider', (r, s) => (s.oidc ? 'OIDC ' + (s.oidc.issuerUrl || '') : s.ldap ? 'LDAP' : none), 'provider'],
      USED_BY_COLUMN,
    ],
  ],
  [
    'contentItems',
    'Content items',
    'No content items.',
    [
      STATUS_COLUMN,
      NAME_COLUMN,
      ['Title', (r, s) => s.title || none, 'title'],
      ['Shown with', (r, s) => (s.parentRef ? s.parentRef.kind + ' ' + s.parentRef.name : none), 'parent'],
      ['Page', (r, s) => (s.link ? s.link.href : 'Markdown, ' + (s.content || '').length + ' characters'), 'page'],
    ],
  ],
]

// One kind's table, filtered by the API, with a pager when it has more than one page.
function Section({ kind, title, empty, columns, search, status }) {
  const filter = search + '\n' + status
  const [paging, setPaging] = useState({ filter, page: 1 })
  // A new search or status starts again at the first page (a later one may not exist).
  const page = paging.filter === filter ? paging.page : 1
  const params = new URLSearchParams({ per_page: String(PER_PAGE), page: String(page) })
  if (search) params.set('search', search)
  if (status) params.set('status', status)
  const { data, error, nextPage } = useApi('/apimanagement/' + kind + '?' + params.toString())
  const items = data || []
  return (
    <>
      <h2 data-testid={'section-' + kind}>{title}</h2>
      <Problem error={error} />
      {!data && !error ? (
        <Loading />
      ) : (
        <table className="table list" data-testid={'list-' + kind}>
          <TableStart columns={columns} empty={items.length === 0 && (search || status ? 'Nothing to show.' : empty)} />
          <tbody>
            {items.flatMap((r) => {
              const errors = r.error || []
              const rows = [
                <tr
                  key={r.name}
                  data-testid="resource-row"
                  data-kind={kind}
                  data-name={r.name}
                  data-status={r.status}
                  className={'row-' + r.status + (errors.length ? ' has-error' : '')}
                >
                  {columns.map(([title, render, testid, cls]) => (
                    <td key={title} className={cls} data-testid={testid}>
                      {render(r, r.spec || {})}
                    </td>
                  ))}
                </tr>,
              ]
              if (errors.length)
                rows.push(
                  <tr key={r.name + '#error'} className={'error-row row-' + r.status} data-testid="resource-error" data-name={r.name}>
                    <td />
                    <td colSpan={columns.length - 1} className="error-text">
                      {errors.map((e, i) => (
                        <div key={i} data-testid="error">
                          {e}
                        </div>
                      ))}
                    </td>
                  </tr>,
                )
              return rows
            })}
          </tbody>
        </table>
      )}
      {(page > 1 || nextPage > page) && (
        <div className="pager">
          <button type="button" disabled={page <= 1} onClick={() => setPaging({ filter, page: page - 1 })}>
            ‹ Previous
          </button>
          <span data-testid="page">Page {page}</span>
          <button type="button" disabled={!(nextPage > page)} onClick={() => setPaging({ filter, page: page + 1 })}>
            Next ›
          </button>
        </div>
      )}
    </>
  )
}

export default function ApiManagement({ query }) {
  const [search, setSearch] = useState(query.get('search') || '')
  const [debounced, setDebounced] = useState(search.trim())
  const [status, setStatus] = useState(query.get('status') || '')
  useEffect(() => {
    const t = setTimeout(() => setDebounced(search.trim()), 200)
    return () => clearTimeout(t)
  }, [search])
  return (
    <div className="page" data-testid="apimanagement-page">
      <h1>API management</h1>
      <ListToolbar
        search={search}
        onSearch={setSearch}
        placeholder="Search by name"
        status={status}
        onStatus={setStatus}
        statuses={STATUSES}
      />
      {SECTIONS.map(([kind, title, empty, columns]) => (
        <Section key={kind} kind={kind} title={title} empty={empty} columns={columns} search={debounced} status={status} />
      ))}
    </div>
  )
}
