// Small building blocks shared by the portal's pages: the error banner, loading and problem
// notes, the not-found page (these two with the dashboard: web/shared/components.jsx), a
// two-step button for what cannot be undone, a table, the schema view of the documentation,
// and the words for plans' limits and dates.
import { createContext, useContext, useState } from 'react'
import { deref, refName } from './openapi.js'

export { NotFound, Problem } from '../../shared/components.jsx'

// The banner under the header shows the last error a page reported (a server's {"error"}).
// report(error) shows it, report(null) clears it.
export const BannerContext = createContext({ report: () => {} })
export const useReport = () => useContext(BannerContext).report

export function ErrorBanner({ error, onDismiss }) {
  if (!error) return null
  return (
    <div className="banner banner-error" role="alert" data-testid="error-banner" data-status={error.status || undefined}>
      <span data-testid="error-message">{error.message || String(error)}</span>
      <button type="button" className="link-button" onClick={onDismiss} data-testid="error-dismiss" aria-label="Dismiss">
        ✕
      </button>
    </div>
  )
}

export function Loading() {
  return (
    <div className="loading" data-testid="loading">
      Loading…
    </div>
  )
}

// A button that asks once more before doing `onConfirm` (revoke, rotate, delete): its first
// click shows "confirm-yes" and "confirm-no" in its place.
export function ConfirmButton({ label, question, onConfirm, testid, className = 'button danger', disabled }) {
  const [asking, setAsking] = useState(false)
  if (!asking) {
    return (
      <button type="button" className={className} onClick={() => setAsking(true)} data-testid={testid} disabled={disabled}>
        {label}
      </button>
    )
  }
  return (
    <span className="confirm" data-testid={testid + '-confirm'}>
      <span className="confirm-question">{question}</span>
      <button
        type="button"
        className="button danger"
        data-testid="confirm-yes"
        onClick={() => {
          setAsking(false)
          onConfirm()
        }}
      >
        Yes, {label.toLowerCase()}
      </button>
      <button type="button" className="button" data-testid="confirm-no" onClick={() => setAsking(false)}>
        Cancel
      </button>
    </span>
  )
}

// A table with one row of headings: `head` the columns' titles (false: no such column, '': one
// without a title, e.g. over the rows' buttons); its rows are the children.
export function Table({ className, head, children }) {
  return (
    <table className={className ? 'table ' + className : 'table'}>
      <thead>
        <tr>
          {head.map((title, i) => title !== false && <th key={i}>{title || null}</th>)}
        </tr>
      </thead>
      <tbody>{children}</tbody>
    </table>
  )
}

// "100 requests per 1s"; null when the plan sets no such limit.
export function limitText(limit) {
  if (!limit || limit.limit == null) return null
  return limit.limit.toLocaleString('en-US') + ' request' + (limit.limit === 1 ? '' : 's') + ' per ' + (limit.period || '?')
}

export function PlanSummary({ offer }) {
  const rate = limitText(offer.rateLimit)
  const quota = limitText(offer.quota)
  return (
    <span className="plan-summary" data-testid="plan-limits">
      {rate && <span data-testid="plan-rate">rate limit {rate}</span>}
      {rate && quota && <span className="muted"> · </span>}
      {quota && <span data-testid="plan-quota">quota {quota}</span>}
      {!rate && !quota && <span className="muted">no limits</span>}
    </span>
  )
}

// Seconds since the epoch (or an ISO date) → local date and time.
export function when(value) {
  if (value == null || value === '') return '—'
  const date = typeof value === 'number' ? new Date(value < 1e12 ? value * 1000 : value) : new Date(value)
  return isNaN(date) ? String(value) : date.toLocaleString()
}

// "name@provider" → "name" (the catalog's names are qualified; people read titles).
export const shortName = (name) => String(name || '').replace(/@[^@]*$/, '')

// A schema's type in a few words: "string (date-time)", "array of Forecast", "Forecast".
function typeLabel(doc, schema) {
  if (!schema) return 'any'
  if (schema.$ref) return refName(schema.$ref)
  const variants = schema.oneOf || schema.anyOf
  if (variants) return (schema.oneOf ? 'one of ' : 'any of ') + variants.map((v) => typeLabel(doc, v)).join(' | ')
  if (schema.allOf) return schema.allOf.map((v) => typeLabel(doc, v)).join(' & ')
  let type = Array.isArray(schema.type) ? schema.type.join(' | ') : schema.type
  if (!type) type = schema.properties ? 'object' : 'any'
  if (type === 'array') return 'array of ' + typeLabel(doc, schema.items)
  return type + (schema.format ? ' (' + schema.format + ')' : '')
}

// The fields of a schema (objects' properties, arrays' items, composed schemas), nested up to a
// few levels; a reference already being shown higher up is named, not expanded again.
export function SchemaView({ doc, schema, depth = 0, seen = [] }) {
  if (!schema) return <span className="muted">no schema</span>
  let s = schema
  let trail = seen
  if (schema.$ref) {
    if (seen.includes(schema.$ref) || depth > 6) return <span className="type">{refName(schema.$ref)}</span>
    trail = [...seen, schema.$ref]
    s = deref(doc, schema) || {}
  }
  const parts = s.allOf || s.oneOf || s.anyOf
  if (parts) {
    return (
      <div className="schema-variants">
        <span className="type">{typeLabel(doc, s)}</span>
        {parts.map((p, i) => (
          <SchemaView key={i} doc={doc} schema={p} depth={depth + 1} seen={trail} />
        ))}
      </div>
    )
  }
  const type = Array.isArray(s.type) ? s.type.find((t) => t !== 'null') : s.type
  if (type === 'array') {
    const items = s.items
    const inner = items && (items.$ref ? deref(doc, items) : items)
    const nested = inner && (inner.properties || inner.allOf || inner.oneOf || inner.anyOf || inner.items)
    return (
      <div className="schema-array">
        <span className="type">{typeLabel(doc, s)}</span>
        {nested && depth < 6 && <SchemaView doc={doc} schema={items} depth={depth + 1} seen={trail} />}
      </div>
    )
  }
  if (!s.properties) {
    return (
      <span className="type">
        {typeLabel(doc, schema.$ref ? s : schema)}
        {Array.isArray(s.enum) && <span className="muted"> one of {s.enum.map((v) => JSON.stringify(v)).join(', ')}</span>}
      </span>
    )
  }
  const required = new Set(Array.isArray(s.required) ? s.required : [])
  return (
    <ul className="schema" data-testid="schema">
      {Object.entries(s.properties).map(([name, prop]) => {
        const p = (prop && prop.$ref ? deref(doc, prop) : prop) || {}
        // What to show below the line: the object itself, or an array's items when they have fields.
        const inner = p.type === 'array' ? p.items : prop
        const target = (inner && inner.$ref ? deref(doc, inner) : inner) || {}
        const deeper = target.properties || target.allOf || target.oneOf || target.anyOf
        return (
          <li key={name} data-testid="schema-property" data-name={name}>
            <code className="prop-name">{name}</code>
            {required.has(name) && (
              <span className="required" title="required">
                *
              </span>
            )}{' '}
            <span className="type">{typeLabel(doc, prop)}</span>
            {Array.isArray(p.enum) && <span className="muted"> one of {p.enum.map((v) => JSON.stringify(v)).join(', ')}</span>}
            {p.description && <span className="prop-description"> — {p.description}</span>}
            {deeper && depth < 6 && !(inner.$ref && trail.includes(inner.$ref)) && (
              <SchemaView doc={doc} schema={inner} depth={depth + 1} seen={trail} />
            )}
          </li>
        )
      })}
    </ul>
  )
}

// What the catalog calls a catalog item: "API title — plan title" (its own name when the user no
// longer sees it).
export function offerTitle(catalog, catalogItem) {
  for (const api of (catalog && catalog.apis) || []) {
    const offer = (api.offers || []).find((o) => o.catalogItem === catalogItem)
    if (offer) return (api.title || shortName(api.name)) + ' — ' + (offer.planTitle || shortName(offer.plan))
  }
  return shortName(catalogItem)
}
