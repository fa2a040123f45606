// An API's page (#/apis/<name>[?version=<APIVersion name>]): the plans the catalog offers with
// a Subscribe control for the user's own applications, then the documentation read from its
// OpenAPI document (info, servers, operations grouped by tag with their parameters, request
// body, responses) and a try-it console per operation.
import { useMemo, useState } from 'react'
import { call, seg, useResource } from './api.js'
import { Loading, PlanSummary, Problem, SchemaView, Table, shortName, useReport } from './components.jsx'
import { Markdown } from './markdown.jsx'
import { baseUrl, readDocument } from './openapi.js'
import { href } from '../../shared/router.js'
import TryIt from './TryIt.jsx'
import { ContentCard } from './Catalog.jsx'

function Offer({ offer, applications, reloadApplications }) {
  const report = useReport()
  const own = (applications || []).filter((a) => !a.managed)
  const subscribed = (applications || []).filter((a) => (a.subscriptions || []).some((s) => s.catalogItem === offer.catalogItem))
  const [appId, setAppId] = useState('')
  const [busy, setBusy] = useState(false)
  const [done, setDone] = useState('')
  const chosen = appId || (own.find((a) => !subscribed.includes(a)) || own[0] || {}).appId || ''

  const subscribe = async (e) => {
    e.preventDefault()
    if (!chosen) return
    setBusy(true)
    setDone('')
    try {
      await call('POST', 'applications/' + seg(chosen) + '/subscriptions', { catalogItem: offer.catalogItem })
      report(null)
      setDone('Subscribed ' + ((own.find((a) => a.appId === chosen) || {}).title || chosen) + ' to ' + (offer.planTitle || offer.plan))
      reloadApplications()
    } catch (err) {
      report(err)
    } finally {
      setBusy(false)
    }
  }

  return (
    <div className="card offer" data-testid="offer" data-catalog-item={offer.catalogItem} data-plan={offer.plan}>
      <div className="offer-head">
        <span className="offer-title" data-testid="offer-title">
          {offer.planTitle || shortName(offer.plan)}
        </span>
        <PlanSummary offer={offer} />
      </div>
      {offer.planDescription && <div className="muted">{offer.planDescription}</div>}
      {(offer.operationSets || []).length > 0 && (
        <div className="small">
          Operations: <span className="muted">{offer.operationSets.map((o) => (typeof o === 'string' ? o : o.name)).join(', ')}</span>
        </div>
      )}
      {subscribed.length > 0 && (
        <div className="small" data-testid="offer-subscribed">
          Subscribed: {subscribed.map((a) => a.title).join(', ')}
        </div>
      )}
      {applications && own.length === 0 ? (
        <div className="small">
          <a href={href('applications')} data-testid="offer-create-app">
            Create an application
          </a>{' '}
          to subscribe.
        </div>
      ) : (
        <form className="inline-form" onSubmit={subscribe}>
          <select value={chosen} onChange={(e) => setAppId(e.target.value)} data-testid="subscribe-app" aria-label="Application">
            {own.map((a) => (
              <option key={a.appId} value={a.appId}>
                {a.title}
              </option>
            ))}
          </select>
          <button type="submit" className="button primary" disabled={busy || !chosen} data-testid="subscribe-button">
            Subscribe
          </button>
        </form>
      )}
      {done && (
        <div className="ok-note" data-testid="subscribe-done">
          {done}
        </div>
      )}
    </div>
  )
}

function Parameters({ doc, op }) {
  if (op.parameters.length === 0) return null
  return (
    <div className="op-section" data-testid="op-parameters">
      <h4>Parameters</h4>
      <Table head={['Name', 'In', 'Type', 'Description']}>
        {op.parameters.map((p) => (
          <tr key={p.in + p.name} data-testid="op-parameter" data-name={p.name} data-in={p.in}>
            <td>
              <code>{p.name}</code>
              {p.required && (
                <span className="required" title="required">
                  *
                </span>
              )}
            </td>
            <td>{p.in}</td>
            <td>
              <SchemaView doc={doc} schema={p.schema} />
            </td>
            <td>
              <Markdown text={p.description} />
              {p.deprecated && <span className="badge badge-warning">deprecated</span>}
            </td>
          </tr>
        ))}
      </Table>
    </div>
  )
}

function Operation({ doc, op, base }) {
  const [open, setOpen] = useState(true)
  const [trying, setTrying] = useState(false)
  return (
    <section
      className={'operation op-' + op.method + (op.deprecated ? ' deprecated' : '')}
      data-testid="doc-operation"
      data-operation-id={op.key}
      data-method={op.method.toUpperCase()}
      data-path={op.path}
    >
      <button type="button" className="op-head" onClick={() => setOpen(!open)} aria-expanded={open} data-testid="op-toggle">
        <span className={'method method-' + op.method} data-testid="op-method">
          {op.method.toUpperCase()}
        </span>
        <code className="op-path" data-testid="op-path">
          {op.path}
        </code>
        <span className="op-summary" data-testid="op-summary">
          {op.summary}
        </span>
        {op.deprecated && <span className="badge badge-warning">deprecated</span>}
      </button>
      {open && (
        <div className="op-body">
          {op.description && <Markdown text={op.description} className="op-description" />}
          <Parameters doc={doc} op={op} />
          {op.body && (
            <div className="op-section" data-testid="op-request-body">
              <h4>
                Request body {op.body.required && <span className="required">*</span>}{' '}
                <span className="muted small">{op.body.contentTypes.join(', ')}</span>
              </h4>
              {op.body.description && <Markdown text={op.body.description} />}
              <SchemaView doc={doc} schema={op.body.schema} />
            </div>
          )}
          <div className="op-section" data-testid="op-responses">
            <h4>Responses</h4>
            {op.responses.length === 0 && <span className="muted">none documented</span>}
            {op.responses.map((r) => (
              <div key={r.status} className="response" data-testid="op-response" data-status={r.status}>
                <span className={'status status-' + String(r.status)[0]}>{r.status}</span> {r.description}{' '}
                {r.contentTypes.length > 0 && <span className="muted small">{r.contentTypes.join(', ')}</span>}
                {r.schema && <SchemaView doc={doc} schema={r.schema} />}
              </div>
            ))}
          </div>
          <div className="op-section">
            <button type="button" className="button" onClick={() => setTrying(!trying)} data-testid="tryit-toggle" aria-expanded={trying}>
              {trying ? 'Close the console' : 'Try it'}
            </button>
            {trying && <TryIt doc={doc} op={op} base={base} />}
          </div>
        </div>
      )}
    </section>
  )
}

function Documentation({ name, version }) {
  const path = 'apis/' + seg(name) + '/openapi' + (version ? '?version=' + encodeURIComponent(version) : '')
  const { data, error, loading } = useResource(path)
  const parsed = useMemo(() => {
    if (!data) return null
    try {
      return { read: readDocument(data) }
    } catch (e) {
      return { error: e }
    }
  }, [data])
  if (loading) return <Loading />
  if (error) return <Problem error={error.status === 404 ? { status: 404, message: 'this API has no documentation' } : error} />
  if (!parsed) return null
  if (parsed.error) return <Problem error={{ message: 'the OpenAPI document cannot be read: ' + parsed.error.message }} />
  const { info, servers, tags, version: docVersion } = parsed.read
  const base = baseUrl(servers)
  return (
    <div className="doc" data-testid="api-doc">
      <div className="card" data-testid="api-info">
        <div className="doc-title">
          <strong data-testid="doc-title">{info.title || shortName(name)}</strong>{' '}
          {info.version && <span className="chip" data-testid="doc-version-label">{info.version}</span>}{' '}
          <span className="muted small">{docVersion}</span>
        </div>
        {info.description && <Markdown text={info.description} testid="doc-description" />}
        {(info.contact || info.license || info.termsOfService) && (
          <div className="small muted">
            {info.contact && (info.contact.name || info.contact.email || info.contact.url) && (
              <span>Contact: {[info.contact.name, info.contact.email, info.contact.url].filter(Boolean).join(' · ')}. </span>
            )}
            {info.license && info.license.name && <span>License: {info.license.name}. </span>}
          </div>
        )}
        <div className="servers" data-testid="api-servers">
          <span className="muted">Base URL: </span>
          <code data-testid="api-base-url">{base}</code>
          {servers.length > 0 && (
            <ul>
              {servers.map((s, i) => (
                <li key={i} data-testid="api-server">
                  <code>{s.url}</code> {s.description && <span className="muted">{s.description}</span>}
                </li>
              ))}
            </ul>
          )}
        </div>
      </div>
      {tags.length === 0 && <p className="muted">The document describes no operation.</p>}
      {tags.map((tag) => (
        <section key={tag.name} className="doc-tag" data-testid="doc-tag" data-tag={tag.name}>
          <h2>{tag.name}</h2>
          {tag.description && <Markdown text={tag.description} className="muted" />}
          {tag.operations.map((op) => (
            <Operation key={op.key} doc={data} op={op} base={base} />
          ))}
        </section>
      ))}
    </div>
  )
}

export default function ApiPage({ name, query, catalog }) {
  const applications = useResource('applications')
  const { data, error } = catalog
  if (!data && !error) return <Loading />
  if (!data) return <Problem error={error} />
  const api = (data.apis || []).find((a) => a.name === name)
  if (!api) return <Problem error={{ status: 404, message: 'no API ' + name + ' in your catalog' }} />
  const version = query.get('version') || ''
  const versions = api.versions || []
  const apps = applications.data ? applications.data.applications || [] : null
  // The content items of this API, or of a bundle it is in.
  const guides = (data.content || []).filter((c) => (c.apis || []).includes(api.name))
  return (
    <div className="page" data-testid="api-page" data-name={api.name}>
      <div className="crumbs">
        <a href={href()}>Catalog</a> /
      </div>
      <div className="title-row">
        <h1 data-testid="api-title">{api.title || shortName(api.name)}</h1>
        {versions.length > 0 && (
          <select
            value={version}
            onChange={(e) => {
              window.location.hash = href('apis', api.name) + (e.target.value ? '?version=' + encodeURIComponent(e.target.value) : '')
            }}
            data-testid="doc-version"
            aria-label="Version"
          >
            <option value="">Current</option>
            {versions.map((v) => (
              <option key={v.name} value={v.name}>
                {v.release || v.title || v.name}
              </option>
            ))}
          </select>
        )}
      </div>
      {api.description && <Markdown text={api.description} testid="api-description" />}
      {guides.length > 0 && (
        <div className="grid grid-small" data-testid="api-content-items">
          {guides.map((item) => (
            <ContentCard key={item.name} item={item} />
          ))}
        </div>
      )}
      <h2>Plans</h2>
      {(api.offers || []).length === 0 ? (
        <p className="muted">No plan is offered for this API.</p>
      ) : (
        <div className="grid" data-testid="offers">
          {api.offers.map((o) => (
            <Offer key={o.catalogItem + o.plan} offer={o} applications={apps} reloadApplications={applications.reload} />
          ))}
        </div>
      )}
      {applications.error && <Problem error={applications.error} />}
      <h2>Documentation</h2>
      {api.hasDocument === false ? (
        <p className="muted" data-testid="no-document">
          This API has no OpenAPI document.
        </p>
      ) : (
        <Documentation key={version} name={api.name} version={version} />
      )}
    </div>
  )
}
