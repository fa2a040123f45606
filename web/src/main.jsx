// The causeway dashboard: what Traefik's dashboard shows (overview, HTTP, TCP and UDP routers,
// services, middlewares with their status and errors), the TLS certificates, the AI and MCP
// gateways and the API management resources, read from the API and refreshed automatically.
import { StrictMode, useEffect, useMemo, useState } from 'react'
import { createRoot } from 'react-dom/client'
import { RefreshContext, useApi } from './api.js'
import { NotFound } from './components.jsx'
import { href, useRoute } from '../shared/router.js'
import ApiManagement from './pages/ApiManagement.jsx'
import Certificates from './pages/Certificates.jsx'
import List from './pages/List.jsx'
import MiddlewareDetail from './pages/MiddlewareDetail.jsx'
import AiGateway from './pages/AiGateway.jsx'
import McpGateway from './pages/McpGateway.jsx'
import Overview from './pages/Overview.jsx'
import RouterDetail from './pages/RouterDetail.jsx'
import ServiceDetail from './pages/ServiceDetail.jsx'
import './style.css'

const INTERVALS = [
  [0, 'Off'],
  [2000, '2 s'],
  [5000, '5 s'],
  [15000, '15 s'],
]

function storedInterval() {
  const v = parseInt(window.localStorage?.getItem('causeway.refresh') ?? '', 10)
  return INTERVALS.some(([ms]) => ms === v) ? v : 2000
}

function Version() {
  const { data } = useApi('/version')
  if (!data) return null
  return (
    <span className="version" title={data.startDate ? 'started ' + new Date(data.startDate).toLocaleString() : ''}>
      {data.dashboardName || 'causeway'} {data.Version}
    </span>
  )
}

const KINDS = ['routers', 'services', 'middlewares']
const PROTOCOLS = ['http', 'tcp', 'udp']
// UDP has no middlewares (Traefik's neither).
const kindsOf = (protocol) => (protocol === 'udp' ? KINDS.slice(0, 2) : KINDS)

// Pages of their own beside the protocols' lists.
const SINGLE = ['certificates', 'ai', 'mcp', 'apimanagement']

// The section of a page, as the navigation names it: 'routers' (HTTP), 'tcp-routers', 'ai'...
function sectionOf(parts) {
  if (PROTOCOLS.includes(parts[0])) return parts[1] ? (parts[0] === 'http' ? '' : parts[0] + '-') + parts[1] : null
  return SINGLE.includes(parts[0]) ? parts[0] : ''
}

const lists = (protocol) =>
  kindsOf(protocol).map((kind) => [sectionOf([protocol, kind]), kind[0].toUpperCase() + kind.slice(1), href(protocol, kind)])

// [group title, [[section, label, link]]]: HTTP and TCP each list routers, services, middlewares;
// UDP routers and services; then the certificates, the AI and MCP gateways, the API management.
const NAV = [
  ['', [['', 'Dashboard', href()]]],
  ['HTTP', lists('http')],
  ['TCP', lists('tcp')],
  ['UDP', lists('udp')],
  [
    '',
    [
      ['certificates', 'Certificates', href('certificates')],
      ['ai', 'AI', href('ai')],
      ['mcp', 'MCP', href('mcp')],
      ['apimanagement', 'APIs', href('apimanagement')],
    ],
  ],
]

function Nav({ section }) {
  return (
    <nav className="nav">
      {NAV.map(([title, links], i) => (
        <div key={i} className="nav-group" data-testid={title ? 'nav-' + title.toLowerCase() : undefined}>
          {title && <span className="nav-group-title">{title}</span>}
          {links.map(([key, label, to]) => (
            <a key={key} href={to} className={section === key ? 'active' : ''} data-testid={'nav-' + (key || 'dashboard')}>
              {label}
            </a>
          ))}
        </div>
      ))}
    </nav>
  )
}

function Page({ parts, query }) {
  if (parts.length === 0) return <Overview />
  if (parts[0] === 'certificates' && parts.length === 1) return <Certificates query={query} />
  if (parts[0] === 'ai' && parts.length === 1) return <AiGateway />
  if (parts[0] === 'mcp' && parts.length === 1) return <McpGateway />
  if (parts[0] === 'apimanagement' && parts.length === 1) return <ApiManagement query={query} />
  if (PROTOCOLS.includes(parts[0]) && parts.length >= 2) {
    const protocol = parts[0]
    const kind = parts[1]
    const name = parts.slice(2).join('/')
    if (kindsOf(protocol).includes(kind)) {
      if (!name) return <List key={protocol + kind} kind={kind} query={query} protocol={protocol} />
      if (kind === 'routers') return <RouterDetail name={name} protocol={protocol} />
      if (kind === 'services') return <ServiceDetail name={name} protocol={protocol} />
      return <MiddlewareDetail name={name} protocol={protocol} />
    }
  }
  return <NotFound home="dashboard" />
}

function App() {
  const { parts, query } = useRoute()
  const [interval, setIntervalMs] = useState(storedInterval)
  const [tick, setTick] = useState(0)
  const [updated, setUpdated] = useState(() => new Date())
  useEffect(() => {
    if (!interval) return undefined
    const id = window.setInterval(() => {
      setTick((t) => t + 1)
      setUpdated(new Date())
    }, interval)
    return () => window.clearInterval(id)
  }, [interval])
  const context = useMemo(() => ({ tick }), [tick])
  const section = sectionOf(parts)
  const choose = (ms) => {
    setIntervalMs(ms)
    try {
      window.localStorage.setItem('causeway.refresh', String(ms))
    } catch {
      /* private mode */
    }
  }
  return (
    <RefreshContext.Provider value={context}>
      <header className="top">
        <a className="brand" href={href()}>
          <span className="logo" aria-hidden="true" />
          causeway
        </a>
        <Nav section={section} />
        <div className="top-right">
          <label className="refresh" title={'Last refresh ' + updated.toLocaleTimeString()}>
            <span className="refresh-label">Refresh</span>
            <select value={interval} onChange={(e) => choose(parseInt(e.target.value, 10))} data-testid="refresh-interval">
              {INTERVALS.map(([ms, label]) => (
                <option key={ms} value={ms}>
                  {label}
                </option>
              ))}
            </select>
          </label>
          <button
            type="button"
            className="refresh-now"
            onClick={() => {
              setTick((t) => t + 1)
              setUpdated(new Date())
            }}
            title="Refresh now"
            data-testid="refresh-now"
          >
            ⟳
          </button>
          <Version />
        </div>
      </header>
      <main className="main">
        <Page parts={parts} query={query} />
      </main>
    </RefreshContext.Provider>
  )
}

createRoot(document.getElementById('root')).render(
  <StrictMode>
    <App />
  </StrictMode>,
)
