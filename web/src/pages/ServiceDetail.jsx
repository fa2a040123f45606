// One service: its servers with their live health (UP/DOWN, refreshed automatically), load
// balancing and health check settings, child services, and who uses it.
import { qualify, seg, useApi } from '../api.js'
import { Card, Chips, ErrorList, Field, HealthBadge, JsonBlock, Loading, Problem, ProviderTag, StatusBadge } from '../components.jsx'
import { href } from '../router.js'

function Servers({ service }) {
  const servers = service.loadBalancer?.servers || []
  const status = service.serverStatus || {}
  return (
    <Card title="Servers" testid="servers">
      {servers.length === 0 ? (
        <span className="muted">No server.</span>
      ) : (
        <table className="table">
          <thead>
            <tr>
              <th className="col-status">Status</th>
              <th>URL</th>
              <th className="col-num">Weight</th>
            </tr>
          </thead>
          <tbody>
            {servers.map((s) => (
              <tr key={s.url} data-testid="server-row" data-url={s.url}>
                <td className="col-status">
                  <HealthBadge health={status[s.url]} />
                </td>
                <td className="mono">{s.url}</td>
                <td className="col-num">{s.weight ?? 1}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </Card>
  )
}

function Children({ title, rows }) {
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
                <a href={href('http', 'services', row.name)}>{row.name}</a>
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

export default function ServiceDetail({ name }) {
  const { data: s, error } = useApi('/http/services/' + seg(name))
  if (!s && !error) return <Loading />
  if (!s) return <Problem error={error} />
  const provider = s.provider
  const lb = s.loadBalancer
  const hc = lb?.healthCheck
  const q = (n) => qualify(n, provider)
  let children = null
  if (s.weighted) children = <Children title="Weighted services" rows={(s.weighted.services || []).map((c) => ({ name: q(c.name), label: 'Weight', value: c.weight ?? 1 }))} />
  else if (s.highestRandomWeight)
    children = <Children title="Services" rows={(s.highestRandomWeight.services || []).map((c) => ({ name: q(c.name), label: 'Weight', value: c.weight ?? 1 }))} />
  else if (s.mirroring)
    children = (
      <Children
        title="Mirroring"
        rows={[{ name: q(s.mirroring.service), label: 'Percent', value: 'main' }].concat((s.mirroring.mirrors || []).map((m) => ({ name: q(m.name), label: 'Percent', value: (m.percent ?? 0) + '%' })))}
      />
    )
  else if (s.failover)
    children = (
      <Children
        title="Failover"
        rows={[
          { name: q(s.failover.service), label: 'Role', value: 'main' },
          { name: q(s.failover.fallback), label: 'Role', value: 'fallback' },
        ]}
      />
    )
  return (
    <div className="page" data-testid="service-detail">
      <div className="title-row">
        <h1>
          <span className="kind">Service</span> {s.name}
        </h1>
        <StatusBadge status={s.status} />
        <ProviderTag provider={provider} />
        {s.type && <span className="chip">{s.type}</span>}
      </div>
      <Problem error={error} />
      <ErrorList errors={s.error} status={s.status} />
      {lb && <Servers service={s} />}
      {children}
      <div className="grid two">
        {lb && (
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
        <Card title="Used by" testid="used-by">
          <Chips items={s.usedBy} link={(n) => href('http', 'routers', n)} />
        </Card>
        {s.middlewares && s.middlewares.length > 0 && (
          <Card title="Service middlewares">
            <Chips items={s.middlewares.map(q)} link={(n) => href('http', 'middlewares', n)} />
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
