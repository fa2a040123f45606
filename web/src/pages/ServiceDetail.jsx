// One HTTP, TCP or UDP service: its servers with their live health (UP/DOWN, refreshed
// automatically), load balancing and health check settings, child services, and who uses it.
import { qualify, seg, useApi } from '../api.js'
import { Card, Chips, ErrorList, Field, HealthBadge, JsonBlock, Loading, Problem, ProviderTag, StatusBadge } from '../components.jsx'
import { href } from '../../shared/router.js'

// An HTTP server has a URL, a TCP or UDP server an address (host:port).
function Servers({ service, protocol }) {
  const servers = service.loadBalancer?.servers || []
  const status = service.serverStatus || {}
  const key = protocol === 'http' ? 'url' : 'address'
  return (
    <Card title="Servers" testid="servers">
      {servers.length === 0 ? (
        <span className="muted">No server.</span>
      ) : (
        <table className="table">
          <thead>
            <tr>
              <th className="col-status">Status</th>
              <th>{protocol === 'http' ? 'URL' : 'Address'}</th>
              <th className="col-num">Weight</th>
            </tr>
          </thead>
          <tbody>
            {servers.map((s) => (
              <tr key={s[key]} data-testid="server-row" data-url={s.url} data-address={s.address}>
                <td className="col-status">
                  <HealthBadge health={status[s[key]]} />
                </td>
                <td className="mono">
                  {s[key]}
                  {s.tls && <span className="chip server-tls">TLS</span>}
                </td>
                <td className="col-num">{s.weight ?? 1}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </Card>
  )
}

function Children({ title, rows, protocol }) {
  return (
    <Card title={title} testid="children">
      <table className="table">
        <thead>
          <tr>
            <th>Service</th>
            <th className="col-num">{rows[0]?.label || ''}</th>
          </tr>
        </thead>
        <tbody>
          {rows.map((row) => (
            <tr key={row.name + row.label}>
              <td>
                <a href={href(protocol, 'services', row.name)}>{row.name}</a>
              </td>
              <td className="col-num">{row.value}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </Card>
  )
}

function duration(v) {
  return v || null
}

// Routers that use the service; a TCP or UDP service is also used by the weighted services above
// it, told apart with the list of the protocol's services.
function UsedBy({ names, protocol }) {
  const { data } = useApi(protocol !== 'http' && names?.length ? '/' + protocol + '/services?per_page=1000' : null)
  const services = new Set((data || []).map((s) => s.name))
  return (
    <Card title="Used by" testid="used-by">
      <Chips items={names} link={(n) => href(protocol, services.has(n) ? 'services' : 'routers', n)} />
    </Card>
  )
}

export default function ServiceDetail({ name, protocol = 'http' }) {
  const { data: s, error } = useApi('/' + protocol + '/services/' + seg(name))
  if (!s && !error) return <Loading />
  if (!s) return <Problem error={error} />
  const provider = s.provider
  const lb = s.loadBalancer
  const hc = lb?.healthCheck
  const q = (n) => qualify(n, provider)
  let children = null
  if (s.weighted) children = <Children title="Weighted services" protocol={protocol} rows={(s.weighted.services || []).map((c) => ({ name: q(c.name), label: 'Weight', value: c.weight ?? 1 }))} />
  else if (s.highestRandomWeight)
    children = <Children title="Services" protocol={protocol} rows={(s.highestRandomWeight.services || []).map((c) => ({ name: q(c.name), label: 'Weight', value: c.weight ?? 1 }))} />
  else if (s.mirroring)
    children = (
      <Children
        title="Mirroring"
        protocol={protocol}
        rows={[{ name: q(s.mirroring.service), label: 'Percent', value: 'main' }].concat((s.mirroring.mirrors || []).map((m) => ({ name: q(m.name), label: 'Percent', value: (m.percent ?? 0) + '%' })))}
      />
    )
  else if (s.failover)
    children = (
      <Children
        title="Failover"
        protocol={protocol}
        rows={[
          { name: q(s.failover.service), label: 'Role', value: 'main' },
          { name: q(s.failover.fallback), label: 'Role', value: 'fallback' },
        ]}
      />
    )
  return (
    <div className="page" data-testid="service-detail" data-protocol={protocol}>
      <div className="title-row">
        <h1>
          <span className="kind">{protocol === 'http' ? 'Service' : protocol.toUpperCase() + ' service'}</span> {s.name}
        </h1>
        <StatusBadge status={s.status} />
        <ProviderTag provider={provider} />
        {s.type && <span className="chip">{s.type}</span>}
      </div>
      <Problem error={error} />
      <ErrorList errors={s.error} status={s.status} />
      {lb && <Servers service={s} protocol={protocol} />}
      {children}
      <div className="grid two">
        {lb && protocol !== 'http' && (
          <Card title="Load balancing">
            <Field label="Strategy">wrr</Field>
            {lb.serversTransport && <Field label="Servers transport">{lb.serversTransport}</Field>}
            {lb.proxyProtocol && <Field label="PROXY protocol">{'version ' + (lb.proxyProtocol.version ?? 2)}</Field>}
            {lb.terminationDelay != null && <Field label="Termination delay">{lb.terminationDelay + ' ms'}</Field>}
          </Card>
        )}
        {lb && protocol === 'http' && (
          <Card title="Load balancing">
            <Field label="Strategy">{lb.strategy || 'wrr'}</Field>
            <Field label="Pass Host header">{lb.passHostHeader ? 'yes' : 'no'}</Field>
            {lb.serversTransport && <Field label="Servers transport">{lb.serversTransport}</Field>}
            {lb.sticky?.cookie && <Field label="Sticky cookie">{lb.sticky.cookie.name || '(derived from the service name)'}</Field>}
            {lb.passiveHealthCheck && (
              <Field label="Passive health check">
                {(lb.passiveHealthCheck.maxFailedAttempts ?? 1) + ' failures in ' + (lb.passiveHealthCheck.failureWindow || '10s')}
              </Field>
            )}
          </Card>
        )}
        {hc && (
          <Card title="Health check" testid="health-check">
            <Field label="Path">{hc.path}</Field>
            <Field label="Interval">{duration(hc.interval)}</Field>
            <Field label="Timeout">{duration(hc.timeout)}</Field>
            {hc.unhealthyInterval && <Field label="Unhealthy interval">{hc.unhealthyInterval}</Field>}
            {hc.scheme && <Field label="Scheme">{hc.scheme}</Field>}
            {hc.hostname && <Field label="Hostname">{hc.hostname}</Field>}
            {hc.port ? <Field label="Port">{hc.port}</Field> : null}
            {hc.status ? <Field label="Expected status">{hc.status}</Field> : null}
          </Card>
        )}
        <UsedBy names={s.usedBy} protocol={protocol} />
        {s.middlewares && s.middlewares.length > 0 && (
          <Card title="Service middlewares">
            <Chips items={s.middlewares.map(q)} link={(n) => href(protocol, 'middlewares', n)} />
          </Card>
        )}
      </div>
      {!lb && !children && (
        <Card title="Configuration">
          <JsonBlock value={Object.fromEntries(Object.entries(s).filter(([k]) => !['name', 'provider', 'status', 'error', 'usedBy', 'type', 'serverStatus'].includes(k)))} />
        </Card>
      )}
    </div>
  )
}
