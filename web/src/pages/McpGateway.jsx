// The MCP gateway: every router that carried MCP traffic, with the servers that answered,
// requests, errors, denials by rule, list entries hidden by policies, and per tool its calls,
// denials and errors (GET /api/mcp).
import { useApi } from '../api.js'
import { Card, Loading, Problem } from '../components.jsx'
import { href } from '../../shared/router.js'

const number = (n) => (n || 0).toLocaleString('en-US')

function Tools({ tools }) {
  if (!tools || tools.length === 0) return <span className="muted">no tool calls yet</span>
  return (
    <table className="table" data-testid="mcp-tools">
      <thead>
        <tr><th>Tool</th><th>Calls</th><th>Denied</th><th>Errors</th></tr>
      </thead>
      <tbody>
        {tools.map((t) => (
          <tr key={t.name} data-testid="mcp-tool" data-name={t.name}>
            <td>{t.name}</td>
            <td data-testid="calls">{number(t.calls)}</td>
            <td data-testid="denials">{number(t.denials)}</td>
            <td data-testid="errors">{number(t.errors)}</td>
          </tr>
        ))}
      </tbody>
    </table>
  )
}

export default function McpGateway() {
  const { data, error } = useApi('/mcp')
  if (!data && !error) return <Loading />
  if (!data) return <Problem error={error} />
  const routers = data.routers || []
  const totals = routers.reduce(
    (t, r) => ({ requests: t.requests + r.requests, denials: t.denials + r.denials, hidden: t.hidden + r.hidden }),
    { requests: 0, denials: 0, hidden: 0 },
  )
  return (
    <div className="page" data-testid="mcp-page">
      <h1>MCP gateway</h1>
      <div className="grid three">
        <Card title="MCP requests" testid="mcp-requests"><span className="big">{number(totals.requests)}</span></Card>
        <Card title="Denied by policy" testid="mcp-denials"><span className="big">{number(totals.denials)}</span></Card>
        <Card title="Hidden from lists" testid="mcp-hidden"><span className="big">{number(totals.hidden)}</span></Card>
      </div>
      {routers.length === 0 ? (
        <Card title="Routes">
          <span className="muted">No MCP traffic yet. A router becomes an MCP route with an mcp middleware.</span>
        </Card>
      ) : (
        routers.map((r) => (
          <Card key={r.name} title={r.name}>
            <div data-testid="mcp-router" data-name={r.name}>
              <p>
                Router <a href={href('http', 'routers', r.name)}>{r.name}</a>:{' '}
                <span data-testid="requests">{number(r.requests)}</span> requests,{' '}
                <span data-testid="errors">{number(r.errors)}</span> errors,{' '}
                <span data-testid="denials">{number(r.denials)}</span> denied,{' '}
                <span data-testid="hidden">{number(r.hidden)}</span> list entries hidden.
              </p>
              <p data-testid="servers">
                Servers: {(r.servers || []).length ? r.servers.join(', ') : '—'}
              </p>
              <p data-testid="rules">
                Denials by rule: {Object.entries(r.rules || {}).map(([rule, n]) => rule + ': ' + n).join(', ') || '—'}
              </p>
              <Tools tools={r.tools} />
            </div>
          </Card>
        ))
      )}
    </div>
  )
}
