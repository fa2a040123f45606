// One HTTP, TCP or UDP router: its rule, entryPoints, TLS (for TCP: passthrough or terminated),
// middleware chain in order and service, drawn as the path a request or connection takes
// (entryPoints → router → middlewares → service). A UDP router has only entryPoints and a service.
import { qualify, seg, useApi, useElement } from '../api.js'
import { Card, ErrorList, Field, HealthBadge, Loading, Problem, ProviderTag, StatusBadge, TlsTag } from '../components.jsx'
import { href } from '../../shared/router.js'

function MiddlewareStep({ name, index, protocol }) {
  const { data, error } = useElement('middlewares', name, protocol)
  return (
    <li className="chain-step" data-testid="chain-item" data-name={name}>
      <span className="chain-index">{index + 1}</span>
      <div className="chain-body">
        <a href={href(protocol, 'middlewares', name)} className="chain-name">
          {name}
        </a>
        <div className="chain-meta">
          {data ? (
            <>
              <span className="chip">{data.type}</span> <StatusBadge status={data.status} />
            </>
          ) : error ? (
            <span className="error-text">{error.status === 404 ? 'does not exist' : error.message}</span>
          ) : null}
        </div>
      </div>
    </li>
  )
}

// A server is a URL (HTTP) or an address (TCP, UDP).
const serverKey = (s) => s.url || s.address

function ServiceCard({ name, protocol }) {
  const { data, error } = useElement('services', name, protocol)
  if (!name) return <Card title="Service">No service</Card>
  const servers = data?.loadBalancer?.servers || []
  const status = data?.serverStatus || {}
  return (
    <Card title="Service" testid="router-service">
      <div className="service-head">
        <a href={href(protocol, 'services', name)} className="strong">
          {name}
        </a>
        {data && <StatusBadge status={data.status} />}
        {data?.type && <span className="chip">{data.type}</span>}
      </div>
      {error && <div className="error-text">{error.status === 404 ? 'The service does not exist.' : error.message}</div>}
      {servers.length > 0 && (
        <ul className="servers-mini">
          {servers.map((s) => (
            <li key={serverKey(s)}>
              <HealthBadge health={status[serverKey(s)]} /> <span className="mono">{serverKey(s)}</span>
            </li>
          ))}
        </ul>
      )}
      {data?.error && <ErrorList errors={data.error} status={data.status} />}
    </Card>
  )
}

function TlsCard({ tls, protocol }) {
  const noTls = protocol === 'tcp' ? 'No TLS: this router takes TCP connections as they come.' : 'No TLS: this router serves cleartext connections.'
  return (
    <Card title="TLS" testid="tls">
      {tls ? (
        <>
          {protocol === 'tcp' && (
            <Field label="Passthrough" testid="passthrough">
              {tls.passthrough ? 'yes: the connection goes to the service still encrypted' : 'no: TLS is terminated here'}
            </Field>
          )}
          {!tls.passthrough && <Field label="Options">{tls.options || 'default'}</Field>}
          {tls.certResolver && <Field label="Certificate resolver">{tls.certResolver}</Field>}
          {(tls.domains || []).map((d, i) => (
            <Field key={i} label="Domain">
              {d.main}
              {d.sans && d.sans.length ? ' (' + d.sans.join(', ') + ')' : ''}
            </Field>
          ))}
        </>
      ) : (
        <span className="muted">{noTls}</span>
      )}
    </Card>
  )
}

export default function RouterDetail({ name, protocol = 'http' }) {
  const { data: r, error } = useApi('/' + protocol + '/routers/' + seg(name))
  if (!r && !error) return <Loading />
  if (!r) return <Problem error={error} />
  const provider = r.provider
  const middlewares = (r.middlewares || []).map((m) => qualify(m, provider))
  const service = qualify(r.service, provider)
  const entryPoints = r.using || r.entryPoints || []
  const udp = protocol === 'udp'
  return (
    <div className="page" data-testid="router-detail" data-protocol={protocol}>
      <div className="title-row">
        <h1>
          <span className="kind">{protocol === 'http' ? 'Router' : protocol.toUpperCase() + ' router'}</span> {r.name}
        </h1>
        <StatusBadge status={r.status} />
        <ProviderTag provider={provider} />
        {protocol === 'tcp' && <TlsTag tls={r.tls} />}
      </div>
      <Problem error={error} />
      <ErrorList errors={r.error} status={r.status} />

      <div className="flow" data-testid="flow">
        <div className="flow-node">
          <div className="flow-label">Entrypoints</div>
          {entryPoints.map((e) => (
            <div key={e} className="flow-value">
              {e}
            </div>
          ))}
        </div>
        <div className="flow-arrow">→</div>
        <div className="flow-node">
          <div className="flow-label">Router</div>
          <div className="flow-value">{r.name}</div>
        </div>
        {middlewares.length > 0 && <div className="flow-arrow">→</div>}
        {middlewares.length > 0 && (
          <div className="flow-node">
            <div className="flow-label">Middlewares</div>
            {middlewares.map((m) => (
              <div key={m} className="flow-value">
                {m}
              </div>
            ))}
          </div>
        )}
        <div className="flow-arrow">→</div>
        <div className="flow-node">
          <div className="flow-label">Service</div>
          <div className="flow-value">{service || '—'}</div>
        </div>
      </div>

      <div className="grid two">
        <Card title="Router" testid="router-fields">
          {!udp && (
            <Field label="Rule" testid="rule">
              <code className="rule">{r.rule}</code>
            </Field>
          )}
          <Field label="Entrypoints" testid="entrypoints">
            {entryPoints.join(', ') || null}
          </Field>
          {r.entryPoints && r.using && r.entryPoints.join() !== r.using.join() && (
            <Field label="Configured entrypoints">{r.entryPoints.join(', ')}</Field>
          )}
          {!udp && <Field label="Priority">{r.priorityStr}</Field>}
          {r.ruleSyntax && <Field label="Rule syntax">{r.ruleSyntax}</Field>}
          <Field label="Provider">{provider}</Field>
        </Card>
        {udp ? <ServiceCard name={service} protocol={protocol} /> : <TlsCard tls={r.tls} protocol={protocol} />}
      </div>
      {!udp && (
        <div className="grid two">
          <Card title="Middlewares" testid="middleware-chain">
            {middlewares.length ? (
              <ol className="chain">
                {middlewares.map((m, i) => (
                  <MiddlewareStep key={m + i} name={m} index={i} protocol={protocol} />
                ))}
              </ol>
            ) : (
              <span className="muted">No middleware.</span>
            )}
          </Card>
          <ServiceCard name={service} protocol={protocol} />
        </div>
      )}
    </div>
  )
}
