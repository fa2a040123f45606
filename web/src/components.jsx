// Small building blocks shared by the pages; Problem and NotFound are the portal's too
// (web/shared/components.jsx).
import { href } from '../shared/router.js'

export { NotFound, Problem } from '../shared/components.jsx'

const STATUS_LABEL = { enabled: 'Success', warning: 'Warning', disabled: 'Error', error: 'Error', pending: 'Pending' }

// `label`: a page's own word for the status (a certificate is "Expired", not "Error").
export function StatusBadge({ status, label }) {
  const s = status || 'enabled'
  return (
    <span className={'badge badge-' + s} data-testid="status" data-status={s} title={s}>
      {label || STATUS_LABEL[s] || s}
    </span>
  )
}

export function HealthBadge({ health }) {
  const h = (health || 'unknown').toUpperCase()
  return (
    <span className={'badge health-' + h.toLowerCase()} data-testid="server-status" data-health={h}>
      {h}
    </span>
  )
}

// An element's errors, always shown in full (a disabled element says why).
export function ErrorList({ errors, status }) {
  if (!errors || errors.length === 0) return null
  const warning = status === 'warning'
  return (
    <div className={'errors ' + (warning ? 'errors-warning' : 'errors-error')} data-testid="errors" role="alert">
      <div className="errors-title">{warning ? 'Warnings' : 'Errors'}</div>
      <ul>
        {errors.map((e, i) => (
          <li key={i} data-testid="error">
            {e}
          </li>
        ))}
      </ul>
    </div>
  )
}

export function Card({ title, children, className = '', testid }) {
  return (
    <section className={'card ' + className} data-testid={testid}>
      {title && <h3 className="card-title">{title}</h3>}
      {children}
    </section>
  )
}

export function Field({ label, children, testid }) {
  return (
    <div className="field" data-testid={testid}>
      <div className="field-label">{label}</div>
      <div className="field-value">{children ?? <span className="muted">—</span>}</div>
    </div>
  )
}

export function Chips({ items, link }) {
  if (!items || items.length === 0) return <span className="muted">none</span>
  return (
    <span className="chips">
      {items.map((item) =>
        link ? (
          <a key={item} className="chip" href={link(item)}>
            {item}
          </a>
        ) : (
          <span key={item} className="chip">
            {item}
          </span>
        ),
      )}
    </span>
  )
}

export function Loading() {
  return <div className="loading">Loading…</div>
}

export function ProviderTag({ provider }) {
  return <span className={'provider provider-' + (provider || 'unknown')}>{provider || '—'}</span>
}

export function NameLink({ kind, name, protocol = 'http' }) {
  return (
    <a href={href(protocol, kind, name)} className="name-link">
      {name}
    </a>
  )
}

// A TCP router's TLS mode: passthrough (the client's TLS goes through untouched to the
// server) or terminated here.
export function TlsTag({ tls }) {
  if (!tls) return null
  return tls.passthrough ? (
    <span className="tls tls-passthrough" title="TLS passthrough: the connection goes to the server still encrypted" data-testid="tls-mode">
      passthrough
    </span>
  ) : (
    <span className="tls" title={'TLS options: ' + (tls.options || 'default')} data-testid="tls-mode">
      TLS
    </span>
  )
}

export function JsonBlock({ value }) {
  return <pre className="json">{JSON.stringify(value, null, 2)}</pre>
}

// The search box and status filter above a list. `statuses`: [value, label] pairs after "All".
// A table's head and its "nothing here" row, for tables whose columns are
// [title, render, testid, class] and whose body may be empty: `empty` is the text then.
export function TableStart({ columns, empty }) {
  return (
    <>
      <thead>
        <tr>
          {columns.map(([title, , , cls]) => (
            <th key={title} className={cls}>
              {title}
            </th>
          ))}
        </tr>
      </thead>
      {empty && (
        <tbody>
          <tr>
            <td colSpan={columns.length} className="muted empty" data-testid="empty">
              {empty}
            </td>
          </tr>
        </tbody>
      )}
    </>
  )
}

export function ListToolbar({ search, onSearch, placeholder, status, onStatus, statuses }) {
  return (
    <div className="toolbar">
      <input
        type="search"
        className="search"
        placeholder={placeholder}
        value={search}
        onChange={(e) => onSearch(e.target.value)}
        data-testid="search"
        aria-label="Search"
      />
      <select value={status} onChange={(e) => onStatus(e.target.value)} data-testid="status-filter" aria-label="Status">
        <option value="">All statuses</option>
        {statuses.map(([value, label]) => (
          <option key={value} value={value}>
            {label}
          </option>
        ))}
      </select>
    </div>
  )
}
