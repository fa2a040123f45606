// Building blocks the dashboard (web/src/components.jsx) and the developer portal
// (web/portal/src/components.jsx) share; each app's components.jsx exports them with its own.
import { href } from './router.js'

// Why a page's data could not be loaded (nothing when `error` is null).
export function Problem({ error }) {
  if (!error) return null
  return (
    <div className="problem" role="alert" data-testid="load-error">
      {error.status === 404 ? 'Not found: ' : 'Could not load: '}
      {error.message}
    </div>
  )
}

// The page for a route the app does not know, with a link to its first page (`home`: its name).
export function NotFound({ home }) {
  return (
    <div className="page">
      <h1>Not found</h1>
      <p>
        There is no such page. <a href={href()}>Back to the {home}</a>.
      </p>
    </div>
  )
}
