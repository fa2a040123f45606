// The certificates of the TLS store (GET /api/certificates): each with its domains, issuer,
// validity and days left, provider, the certificate resolver that obtained it, its status
// (expiring within 30 days: warning; expired: disabled) and, for ACME, the last failure to
// obtain or renew it and when the next try is due. A certificate the routers want that could
// not be obtained yet is listed too, in error (or pending while its first order runs).
// The API has no search or paging for certificates: they are filtered here.
import { useState } from 'react'
import { useApi } from '../api.js'
import { Chips, ListToolbar, Loading, Problem, ProviderTag, StatusBadge, TableStart } from '../components.jsx'

const LABELS = { enabled: 'Valid', warning: 'Expiring', disabled: 'Expired', error: 'Error', pending: 'Pending' }
const DAY = 86400000
const STATUSES = [
  ['enabled', 'Valid'],
  ['warning', 'Expiring'],
  ['disabled', 'Expired'],
  ['error', 'Errors'],
  ['pending', 'Pending'],
]

const none = <span className="muted">—</span>

// Whole days from now to an RFC 3339 time (negative once past).
const daysUntil = (time) => Math.floor((Date.parse(time) - Date.now()) / DAY)

function daysLeft(days) {
  if (days < 0) return 'expired ' + -days + (days === -1 ? ' day' : ' days') + ' ago'
  return days + (days === 1 ? ' day' : ' days') + ' left'
}

// "in 59 s", "in 3 min", "in 2 h", "in 5 days"; "due" once past.
function fromNow(time) {
  const s = Math.round((Date.parse(time) - Date.now()) / 1000)
  if (s <= 0) return 'due'
  if (s < 60) return 'in ' + s + ' s'
  if (s < 3600) return 'in ' + Math.round(s / 60) + ' min'
  if (s < 86400) return 'in ' + Math.round(s / 3600) + ' h'
  return 'in ' + Math.round(s / 86400) + ' days'
}

function ValidUntil({ notAfter }) {
  if (!notAfter) return none
  const days = daysUntil(notAfter)
  return (
    <span title={notAfter}>
      <span data-testid="not-after">{new Date(notAfter).toLocaleDateString()}</span>{' '}
      <span className={'muted days-left' + (days < 30 ? (days < 0 ? ' err' : ' warn') : '')} data-testid="days-left" data-days={days}>
        ({daysLeft(days)})
      </span>
    </span>
  )
}

function NextAttempt({ time }) {
  if (!time) return none
  return (
    <span title={time}>
      {new Date(time).toLocaleString()} <span className="muted">({fromNow(time)})</span>
    </span>
  )
}

// [title, render(certificate), testid of the cell, class]. The status cell holds the badge
// (data-testid=status, data-status).
const COLUMNS = [
  ['Status', (c) => <StatusBadge status={c.status} label={LABELS[c.status]} />, undefined, 'col-status'],
  ['Domains', (c) => <Chips items={c.domains} />, 'domains'],
  ['Issuer', (c) => c.issuer || none, 'issuer'],
  ['Valid until', (c) => <ValidUntil notAfter={c.notAfter} />, 'valid-until'],
  ['Provider', (c) => <ProviderTag provider={c.provider} />, 'provider'],
  ['Resolver', (c) => c.resolver || none, 'resolver'],
  ['Next attempt', (c) => <NextAttempt time={c.nextAttempt} />, 'next-attempt'],
]

const keyOf = (c) => c.serial || 'order:' + (c.resolver || '') + ':' + (c.domains || []).join(',')

function matches(c, search) {
  if (!search) return true
  const text = [...(c.domains || []), c.commonName, c.issuer, c.resolver, c.provider, c.serial].join(' ').toLowerCase()
  return text.includes(search.toLowerCase())
}

export default function Certificates({ query }) {
  const [search, setSearch] = useState(query.get('search') || '')
  const [status, setStatus] = useState(query.get('status') || '')
  const { data, error } = useApi('/certificates')
  const shown = (data || []).filter((c) => (!status || c.status === status) && matches(c, search.trim()))
  return (
    <div className="page" data-testid="certificates-page">
      <h1>Certificates</h1>
      <ListToolbar
        search={search}
        onSearch={setSearch}
        placeholder="Search by domain, issuer or resolver"
        status={status}
        onStatus={setStatus}
        statuses={STATUSES}
      />
      <Problem error={error} />
      {!data && !error ? (
        <Loading />
      ) : (
        <table className="table list" data-testid="list-certificates">
          <TableStart
            columns={COLUMNS}
            empty={shown.length === 0 && ((data || []).length === 0 ? 'No certificates.' : 'Nothing to show.')}
          />
          <tbody>
            {shown.flatMap((c) => {
              const domains = (c.domains || []).join(',')
              const rows = [
                <tr
                  key={keyOf(c)}
                  data-testid="certificate-row"
                  data-domains={domains}
                  data-status={c.status}
                  data-provider={c.provider}
                  data-resolver={c.resolver || undefined}
                  className={'row-' + c.status + (c.lastError ? ' has-error' : '')}
                >
                  {COLUMNS.map(([title, render, testid, cls]) => (
                    <td key={title} className={cls} data-testid={testid}>
                      {render(c)}
                    </td>
                  ))}
                </tr>,
              ]
              if (c.lastError)
                rows.push(
                  <tr key={keyOf(c) + '#error'} className={'error-row row-' + c.status} data-testid="certificate-error" data-domains={domains}>
                    <td />
                    <td colSpan={COLUMNS.length - 1} className="error-text" data-testid="last-error">
                      {c.lastError}
                    </td>
                  </tr>,
                )
              return rows
            })}
          </tbody>
        </table>
      )}
    </div>
  )
}
