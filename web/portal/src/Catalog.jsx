// The catalog (#/): the portal's title and description, one card per API the user may see
// (its title, description and the plans offered) and the portal's content items: Markdown
// pages of their own (#/content/<name>) or links elsewhere.
import { Markdown, isExternal, safeUrl } from './markdown.jsx'
import { Loading, PlanSummary, Problem } from './components.jsx'
import { href } from '../../shared/router.js'

export function ApiCard({ api }) {
  const offers = api.offers || []
  return (
    <a className="card api-card" href={href('apis', api.name)} data-testid="api-card" data-name={api.name}>
      <h3 className="api-card-title" data-testid="api-card-title">
        {api.title || api.name}
      </h3>
      {api.description && (
        <p className="api-card-description" data-testid="api-card-description">
          {api.description}
        </p>
      )}
      {(api.versions || []).length > 0 && (
        <div className="muted small">
          Versions: {api.versions.map((v) => v.release || v.title || v.name).join(', ')}
        </div>
      )}
      <div className="api-card-plans" data-testid="api-card-plans">
        {offers.length === 0 ? (
          <span className="muted">No plan offered</span>
        ) : (
          offers.map((o) => (
            <div key={o.catalogItem + o.plan} className="plan-line" data-testid="plan" data-plan={o.plan}>
              <span className="chip">{o.planTitle || o.plan}</span> <PlanSummary offer={o} />
            </div>
          ))
        )}
      </div>
      {!api.hasDocument && <div className="muted small">No documentation</div>}
    </a>
  )
}

// A content item: its own page (#/content/<name>), or a link elsewhere.
export function ContentCard({ item }) {
  const link = item.link && !item.content ? safeUrl(item.link) : null
  if (link) {
    return (
      <a
        className="card content-card"
        href={link}
        {...(isExternal(link) ? { target: '_blank', rel: 'noopener noreferrer' } : {})}
        data-testid="content-item"
        data-name={item.name}
        data-kind="link"
      >
        <span className="content-title">{item.title || item.name}</span> <span className="muted">↗ {link}</span>
      </a>
    )
  }
  return (
    <a className="card content-card" href={href('content', item.name)} data-testid="content-item" data-name={item.name} data-kind="page">
      <span className="content-title">{item.title || item.name}</span>
    </a>
  )
}

// The portal's own content items (those of an API or bundle are shown on the API's page), in
// the server's order.
const portalContent = (data) => (data.content || []).filter((c) => !c.parent || c.parent.kind === 'APIPortal')

export default function Catalog({ me, catalog }) {
  const { data, error } = catalog
  const portal = (me && me.portal) || {}
  return (
    <div className="page" data-testid="catalog-page">
      <section className="hero">
        <h1 data-testid="portal-title">{portal.title || 'Developer portal'}</h1>
        {portal.description && (
          <div className="hero-description" data-testid="portal-description">
            <Markdown text={portal.description} />
          </div>
        )}
      </section>
      {!data && !error && <Loading />}
      <Problem error={!data ? error : null} />
      {data && (
        <>
          <h2>APIs</h2>
          {(data.apis || []).length === 0 ? (
            <p className="muted" data-testid="no-apis">
              No API is offered to you yet.
            </p>
          ) : (
            <div className="grid" data-testid="api-cards">
              {data.apis.map((api) => (
                <ApiCard key={api.name} api={api} />
              ))}
            </div>
          )}
          {portalContent(data).length > 0 && (
            <>
              <h2>Guides and links</h2>
              <div className="grid grid-small" data-testid="content-items">
                {portalContent(data).map((item) => (
                  <ContentCard key={item.name} item={item} />
                ))}
              </div>
            </>
          )}
        </>
      )}
    </div>
  )
}

// A content item's own page (#/content/<name>).
export function ContentPage({ name, catalog }) {
  const { data, error } = catalog
  if (!data && !error) return <Loading />
  if (!data) return <Problem error={error} />
  const item = (data.content || []).find((c) => c.name === name)
  if (!item) return <Problem error={{ status: 404, message: 'no content item ' + name }} />
  const link = safeUrl(item.link)
  return (
    <div className="page" data-testid="content-page" data-name={item.name}>
      <div className="crumbs">
        <a href={href()}>Catalog</a> /
      </div>
      <h1 data-testid="content-title">{item.title || item.name}</h1>
      {item.content ? (
        <div className="card">
          <Markdown text={item.content} testid="content-body" />
        </div>
      ) : null}
      {link && (
        <p>
          <a href={link} target="_blank" rel="noopener noreferrer" data-testid="content-link">
            {link}
          </a>
        </p>
      )}
    </div>
  )
}
