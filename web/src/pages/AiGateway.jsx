// The AI gateway: every router that carried LLM calls, with its provider and model, calls and
// errors, tokens in and out, cost, semantic-cache hits and misses, and what the guards and token
// limits refused (GET /api/ai).
import { useApi } from '../api.js'
import { Card, Loading, Problem } from '../components.jsx'
import { href } from '../../shared/router.js'

const number = (n) => (n || 0).toLocaleString('en-US')
const usd = (n) => '$' + (n || 0).toFixed(4)

export default function AiGateway() {
  const { data, error } = useApi('/ai')
  if (!data && !error) return <Loading />
  if (!data) return <Problem error={error} />
  const routers = data.routers || []
  const totals = routers.reduce(
    (t, r) => ({ calls: t.calls + r.calls, tokens: t.tokens + r.inputTokens + r.outputTokens, cost: t.cost + r.costUsd }),
    { calls: 0, tokens: 0, cost: 0 },
  )
  return (
    <div className="page" data-testid="ai-page">
      <h1>AI gateway</h1>
      <div className="grid three">
        <Card title="LLM calls" testid="ai-calls"><span className="big">{number(totals.calls)}</span></Card>
        <Card title="Tokens" testid="ai-tokens"><span className="big">{number(totals.tokens)}</span></Card>
        <Card title="Cost" testid="ai-cost"><span className="big">{usd(totals.cost)}</span></Card>
      </div>
      <Card title="Routes">
        {routers.length === 0 ? (
          <span className="muted">No LLM calls yet. A router becomes an AI route with a chat-completion, messages-api or responses-api middleware.</span>
        ) : (
          <table className="table" data-testid="ai-routers">
            <thead>
              <tr>
                <th>Router</th><th>Provider</th><th>Model</th><th>Calls</th><th>Errors</th>
                <th>Input tokens</th><th>Output tokens</th><th>Cost</th><th>Cache hit / miss</th><th>Refused</th>
              </tr>
            </thead>
            <tbody>
              {routers.map((r) => (
                <tr key={r.name} data-testid="ai-router" data-name={r.name}>
                  <td><a href={href('http', 'routers', r.name)}>{r.name}</a></td>
                  <td>{r.provider}</td>
                  <td>{r.model}</td>
                  <td data-testid="calls">{number(r.calls)}</td>
                  <td>{number(r.errors)}</td>
                  <td data-testid="input-tokens">{number(r.inputTokens)}</td>
                  <td data-testid="output-tokens">{number(r.outputTokens)}</td>
                  <td data-testid="cost">{usd(r.costUsd)}</td>
                  <td data-testid="cache">{number(r.cacheHits)} / {number(r.cacheMisses)}</td>
                  <td data-testid="refused">
                    {Object.entries(r.refusals || {}).map(([by, n]) => by + ': ' + n).join(', ') || '—'}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </Card>
    </div>
  )
}
