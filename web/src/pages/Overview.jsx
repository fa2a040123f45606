// The overview: entryPoints, HTTP, TCP and UDP routers/services/middlewares with their warnings
// and errors, features and providers, and every element that has a problem.
import { useApi } from '../api.js'
import { Card, Loading, Problem, StatusBadge } from '../components.jsx'
import { href } from '../../shared/router.js'

function StatsCard({ kind, title, stats, protocol = 'http' }) {
  const total = stats?.total ?? 0
  const warnings = stats?.warnings ?? 0
  const errors = stats?.errors ?? 0
  const success = Math.max(0, total - warnings - errors)
  const pct = (n) => (total ? Math.round((n * 100) / total) : 0)
  return (
    <a className="card stats" href={href(protocol, kind)} data-testid={'overview-' + (protocol === 'http' ? '' : protocol + '-') + kind}>
      <div className="stats-head">
        <h3 className="card-title">{title}</h3>
        <span className="stats-total" data-testid="total">
          {total}
        </span>
      </div>
      <div className="meter" aria-hidden="true">
        <span className="meter-ok" style={{ width: pct(success) + '%' }} />
        <span className="meter-warn" style={{ width: pct(warnings) + '%' }} />
        <span className="meter-err" style={{ width: pct(errors) + '%' }} />
      </div>
      <dl className="stats-counts">
        <div>
          <dt>Success</dt>
          <dd className="ok" data-testid="success">
            {success}
          </dd>
        </div>
        <div>
          <dt>Warnings</dt>
          <dd className={warnings ? 'warn' : ''} data-testid="warnings">
            {warnings}
          </dd>
        </div>
        <div>
          <dt>Errors</dt>
          <dd className={errors ? 'err' : ''} data-testid="errors-count">
            {errors}
          </dd>
        </div>
      </dl>
    </a>
  )
}

// Has the overview's section ({routers, services, middlewares}) any warning or error?
const hasProblems = (section) => Object.values(section || {}).some((c) => c.warnings || c.errors)

// Every router, service and middleware that is not enabled, with its first error. The TCP and UDP
// lists are read only while the overview counts a TCP or UDP problem.
function Problems({ tcp, udp }) {
  const routers = useApi('/http/routers?per_page=1000')
  const services = useApi('/http/services?per_page=1000')
  const middlewares = useApi('/http/middlewares?per_page=1000')
  const tcpRouters = useApi(tcp ? '/tcp/routers?per_page=1000' : null)
  const tcpServices = useApi(tcp ? '/tcp/services?per_page=1000' : null)
  const tcpMiddlewares = useApi(tcp ? '/tcp/middlewares?per_page=1000' : null)
  const udpRouters = useApi(udp ? '/udp/routers?per_page=1000' : null)
  const udpServices = useApi(udp ? '/udp/services?per_page=1000' : null)
  const rows = []
  for (const [protocol, kind, res] of [
    ['http', 'routers', routers],
    ['http', 'services', services],
    ['http', 'middlewares', middlewares],
    ['tcp', 'routers', tcpRouters],
    ['tcp', 'services', tcpServices],
    ['tcp', 'middlewares', tcpMiddlewares],
    ['udp', 'routers', udpRouters],
    ['udp', 'services', udpServices],
  ]) {
    for (const item of res.data || []) if (item.status !== 'enabled') rows.push({ protocol, kind, item })
  }
  if (rows.length === 0) return null
  return (
    <Card title="Problems" className="problems" testid="problems">
      <table className="table">
        <tbody>
          {rows.map(({ protocol, kind, item }) => (
            <tr key={protocol + kind + item.name} className={'problem-' + item.status} data-protocol={protocol}>
              <td className="col-status">
                <StatusBadge status={item.status} />
              </td>
              <td className="muted col-kind">{(protocol === 'http' ? '' : protocol.toUpperCase() + ' ') + kind.slice(0, -1)}</td>
              <td>
                <a href={href(protocol, kind, item.name)}>{item.name}</a>
              </td>
              <td className="error-text">{(item.error || []).join('; ')}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </Card>
  )
}

// Configuration warnings that belong to no element (/api/warnings): options causeway does not
// implement yet and configuration sources that were not read, each with its file and line.
function ConfigWarnings() {
  const warnings = useApi('/warnings')
  const rows = warnings.data || []
  if (rows.length === 0) return null
  return (
    <Card title="Configuration warnings" className="problems" testid="config-warnings">
      <table className="table">
        <tbody>
          {rows.map((w, i) => (
            <tr key={i} className="problem-warning" data-testid="config-warning">
              <td className="col-status">
                <StatusBadge status="warning" />
              </td>
              <td className="muted col-kind">{w.notSupportedYet ? 'not supported yet' : 'warning'}</td>
              <td className="muted">{w.location || ''}</td>
              <td className="error-text">{w.message}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </Card>
  )
}

export default function Overview() {
  const overview = useApi('/overview')
  const entryPoints = useApi('/entrypoints?per_page=1000')
  if (!overview.data && !overview.error) return <Loading />
  const o = overview.data || {}
  const features = o.features || {}
  return (
    <div className="page">
      <h1>Dashboard</h1>
      <Problem error={overview.error || entryPoints.error} />
      <h2>Entrypoints</h2>
      <div className="grid grid-small">
        {(entryPoints.data || []).map((ep) => (
          <div className="card entrypoint" key={ep.name} data-testid="entrypoint">
            <div className="entrypoint-name">{ep.name}</div>
            <div className="entrypoint-address">{ep.address}</div>
          </div>
        ))}
      </div>
      <h2>HTTP</h2>
      <div className="grid">
        <StatsCard kind="routers" title="Routers" stats={o.http?.routers} />
        <StatsCard kind="services" title="Services" stats={o.http?.services} />
        <StatsCard kind="middlewares" title="Middlewares" stats={o.http?.middlewares} />
      </div>
      <h2>TCP</h2>
      <div className="grid">
        <StatsCard protocol="tcp" kind="routers" title="Routers" stats={o.tcp?.routers} />
        <StatsCard protocol="tcp" kind="services" title="Services" stats={o.tcp?.services} />
        <StatsCard protocol="tcp" kind="middlewares" title="Middlewares" stats={o.tcp?.middlewares} />
      </div>
      <h2>UDP</h2>
      <div className="grid">
        <StatsCard protocol="udp" kind="routers" title="Routers" stats={o.udp?.routers} />
        <StatsCard protocol="udp" kind="services" title="Services" stats={o.udp?.services} />
      </div>
      <Problems tcp={hasProblems(o.tcp)} udp={hasProblems(o.udp)} />
      <ConfigWarnings />
      <div className="grid two">
        <Card title="Features">
          <ul className="features">
            <li>
              Tracing <b className={features.tracing ? 'on' : 'off'}>{features.tracing || 'off'}</b>
            </li>
            <li>
              Metrics <b className={features.metrics ? 'on' : 'off'}>{features.metrics || 'off'}</b>
            </li>
            <li>
              Access log <b className={features.accessLog ? 'on' : 'off'}>{features.accessLog ? 'on' : 'off'}</b>
            </li>
          </ul>
        </Card>
        <Card title="Providers">
          <div className="chips">
            {(o.providers || []).length ? (
              o.providers.map((p) => (
                <span className="chip" key={p}>
                  {p}
                </span>
              ))
            ) : (
              <span className="muted">none</span>
            )}
          </div>
          {Object.keys(o.providerStatus || {}).length ? (
            <table className="provider-status">
              <thead>
                <tr>
                  <th>provider</th>
                  <th>last update</th>
                  <th>status</th>
                </tr>
              </thead>
              <tbody>
                {Object.entries(o.providerStatus).map(([name, st]) => (
                  <tr key={name} data-provider={name}>
                    <td>{name}</td>
                    <td>{st.lastUpdate || 'never'}</td>
                    <td className={st.lastError ? 'error' : 'ok'}>{st.lastError || 'ok'}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          ) : null}
        </Card>
      </div>
    </div>
  )
}
