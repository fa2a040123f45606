// One HTTP or TCP middleware: its type, options and who uses it.
import { seg, useApi } from '../api.js'
import { Card, Chips, ErrorList, JsonBlock, Loading, Problem, ProviderTag, StatusBadge } from '../components.jsx'
import { href } from '../../shared/router.js'

const RUNTIME_KEYS = ['name', 'provider', 'status', 'error', 'usedBy', 'type']

export default function MiddlewareDetail({ name, protocol = 'http' }) {
  const { data: m, error } = useApi('/' + protocol + '/middlewares/' + seg(name))
  if (!m && !error) return <Loading />
  if (!m) return <Problem error={error} />
  const config = Object.entries(m).filter(([k]) => !RUNTIME_KEYS.includes(k))
  return (
    <div className="page" data-testid="middleware-detail" data-protocol={protocol}>
      <div className="title-row">
        <h1>
          <span className="kind">{protocol === 'tcp' ? 'TCP middleware' : 'Middleware'}</span> {m.name}
        </h1>
        <StatusBadge status={m.status} />
        <ProviderTag provider={m.provider} />
        {m.type && (
          <span className="chip" data-testid="type">
            {m.type}
          </span>
        )}
      </div>
      <Problem error={error} />
      <ErrorList errors={m.error} status={m.status} />
      <div className="grid two">
        <Card title="Options" testid="options">
          {config.length ? config.map(([k, v]) => (
            <div key={k}>
              <div className="field-label">{k}</div>
              <JsonBlock value={v} />
            </div>
          )) : <span className="muted">No options.</span>}
        </Card>
        <Card title="Used by" testid="used-by">
          <Chips items={m.usedBy} link={(n) => href(protocol, 'routers', n)} />
        </Card>
      </div>
    </div>
  )
}
