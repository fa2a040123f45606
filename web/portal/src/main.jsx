// The developer portal (docs/api-management.md, the `apiportal@internal` service): a signed-in
// user browses the API catalog, reads each API's documentation from its OpenAPI document and
// tries its operations, creates applications and API keys, and subscribes them to the plans
// offered. Everything it calls is relative to the page (B portal-api/..., B auth/logout).
//
// Pages (hash routes): #/ catalog · #/apis/<name>[?version=<name>] · #/content/<name> · #/applications
//
// data-testid attributes (the tests rely on them; keep them stable):
//   layout     portal-header, portal-logo, portal-name, nav-catalog, nav-applications, user-name,
//              sign-out, error-banner (data-status) > error-message, error-dismiss; signed-out;
//              loading, load-error
//   catalog    catalog-page, portal-title, portal-description, api-cards, no-apis,
//              api-card (data-name) > api-card-title, api-card-description, api-card-plans > plan (data-plan),
//              plan-limits > plan-rate, plan-quota;
//              content-items, content-item (data-name, data-kind "page" | "link")
//   content    content-page (data-name) > content-title, content-body, content-link
//   API page   api-page (data-name), api-title, api-description, doc-version (select),
//              offers, offer (data-catalog-item, data-plan) > offer-title, offer-subscribed, offer-create-app,
//              subscribe-app (select of applications), subscribe-button, subscribe-done;
//              no-document, api-doc, api-info > doc-title, doc-version-label, doc-description,
//              api-servers > api-base-url, api-server; doc-tag (data-tag),
//              doc-operation (data-operation-id: operationId, else "GET /path"; data-method; data-path)
//                > op-toggle, op-method, op-path, op-summary, op-parameters > op-parameter (data-name, data-in),
//                  op-request-body, op-responses > op-response (data-status), schema > schema-property (data-name),
//                  tryit-toggle, tryit
//   try-it     tryit > tryit-url, tryit-param (data-name, data-in), tryit-key, tryit-key-show, tryit-headers,
//              tryit-content-type, tryit-body, tryit-send, tryit-error,
//              tryit-response > tryit-status, tryit-response-headers, tryit-response-body
//   apps       applications-page, create-app-form > create-app-title, create-app-submit; no-apps,
//              app-row (data-app-id, data-title) > app-title, app-id, app-managed, delete-app,
//                key-row (data-key-id, data-prefix) > key-title, key-prefix, key-created, key-rotate, key-revoke;
//                no-keys, new-key-form > new-key-title, new-key-submit;
//                shown-once-key (data-key-id) > shown-once-value, shown-once-copy, shown-once-note, shown-once-dismiss;
//                subscription-row (data-catalog-item, data-plan) > subscription-title, unsubscribe; no-subscriptions
//   confirming delete-app, key-rotate, key-revoke and unsubscribe ask once more: their second step
//              is <testid>-confirm > confirm-yes, confirm-no
import { StrictMode, useCallback, useEffect, useMemo, useState } from 'react'
import { createRoot } from 'react-dom/client'
import { setCsrf, useResource, useSignedOut } from './api.js'
import ApiPage from './ApiPage.jsx'
import Applications from './Applications.jsx'
import Catalog, { ContentPage } from './Catalog.jsx'
import { BannerContext, ErrorBanner, Loading, NotFound, Problem } from './components.jsx'
import { safeUrl } from './markdown.jsx'
import { href, useRoute } from '../../shared/router.js'
import './style.css'

function Page({ parts, query, me, catalog }) {
  if (parts.length === 0) return <Catalog me={me} catalog={catalog} />
  if (parts[0] === 'apis' && parts.length >= 2) {
    const name = parts.slice(1).join('/')
    return <ApiPage key={name} name={name} query={query} catalog={catalog} />
  }
  if (parts[0] === 'content' && parts.length >= 2) return <ContentPage name={parts.slice(1).join('/')} catalog={catalog} />
  if (parts[0] === 'applications' && parts.length === 1) return <Applications catalog={catalog} />
  return <NotFound home="catalog" />
}

function SignedOut() {
  return (
    <div className="signed-out" data-testid="signed-out">
      <h1>Signed out</h1>
      <p>Your session has ended.</p>
      <p>
        <a className="button primary" href="./">
          Sign in again
        </a>
      </p>
    </div>
  )
}

function App() {
  const { parts, query } = useRoute({ scrollToTop: true })
  const signedOut = useSignedOut()
  const me = useResource('me')
  const catalog = useResource('catalog')
  const [error, setError] = useState(null)
  const report = useCallback((e) => setError(e || null), [])
  const banner = useMemo(() => ({ report }), [report])
  const section = parts[0] === 'applications' ? 'applications' : 'catalog'
  const routeKey = parts.join('/')

  // A new page starts without the previous page's error.
  useEffect(() => setError(null), [routeKey])
  useEffect(() => {
    if (!me.data) return
    setCsrf(me.data.csrf)
    if (me.data.portal && me.data.portal.title) document.title = me.data.portal.title
  }, [me.data])

  if (signedOut) return <SignedOut />
  if (!me.data) {
    return <main className="main">{me.error ? <Problem error={me.error} /> : <Loading />}</main>
  }
  const portal = me.data.portal || {}
  const user = me.data.user || {}
  const logo = safeUrl(portal.logoUrl)
  return (
    <BannerContext.Provider value={banner}>
      <header className="top" data-testid="portal-header">
        <a className="brand" href={href()}>
          {logo ? <img className="logo-img" src={logo} alt="" data-testid="portal-logo" /> : <span className="logo" aria-hidden="true" />}
          <span data-testid="portal-name">{portal.title || 'Developer portal'}</span>
        </a>
        <nav className="nav">
          <a href={href()} className={section === 'catalog' ? 'active' : ''} data-testid="nav-catalog">
            Catalog
          </a>
          <a href={href('applications')} className={section === 'applications' ? 'active' : ''} data-testid="nav-applications">
            Applications
          </a>
        </nav>
        <div className="top-right">
          <span className="user" title={[user.email, ...(user.groups || [])].filter(Boolean).join(' · ')} data-testid="user-name">
            {user.name || user.email || user.id}
          </span>
          <a className="sign-out" href="auth/logout" data-testid="sign-out">
            Sign out
          </a>
        </div>
      </header>
      <main className="main">
        <ErrorBanner error={error} onDismiss={() => setError(null)} />
        <Page parts={parts} query={query} me={me.data} catalog={catalog} />
      </main>
    </BannerContext.Provider>
  )
}

createRoot(document.getElementById('root')).render(
  <StrictMode>
    <App />
  </StrictMode>,
)
