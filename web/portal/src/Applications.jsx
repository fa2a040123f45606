// The user's applications (#/applications): create one; per application its API keys (title,
// prefix, creation) with Revoke and Rotate and a form for a new key, its subscriptions with
// Unsubscribe, and Delete. A key created or rotated is shown once, in a box of its own with a
// copy button: the server keeps only its SHA-256, so a reload shows its prefix alone. Applications
// an administrator manages for the user (`managed`) are read-only here.
import { useState } from 'react'
import { call, rememberKey, seg, useResource } from './api.js'
import { ConfirmButton, Loading, Problem, Table, offerTitle, shortName, useReport, when } from './components.jsx'
import { href } from '../../shared/router.js'

async function copyText(text) {
  try {
    await navigator.clipboard.writeText(text)
    return true
  } catch {
    // No clipboard API (an insecure origin): the old way, through a selected textarea.
    const area = document.createElement('textarea')
    area.value = text
    area.setAttribute('readonly', '')
    area.style.position = 'fixed'
    area.style.opacity = '0'
    document.body.appendChild(area)
    area.select()
    let ok = false
    try {
      ok = document.execCommand('copy')
    } catch {
      ok = false
    }
    area.remove()
    return ok
  }
}

// The key just created or rotated, shown this once.
function ShownOnce({ shown, onDismiss }) {
  const [copied, setCopied] = useState(null)
  return (
    <div className="shown-once" role="status" data-testid="shown-once-key" data-key-id={shown.id}>
      <div className="shown-once-title">
        {shown.rotated ? 'Key rotated' : 'New API key'}: <strong>{shown.title || shown.prefix}</strong>
      </div>
      <div className="shown-once-row">
        <code className="shown-once-value" data-testid="shown-once-value">
          {shown.key}
        </code>
        <button
          type="button"
          className="button primary"
          onClick={async () => setCopied(await copyText(shown.key))}
          data-testid="shown-once-copy"
        >
          {copied ? 'Copied' : 'Copy'}
        </button>
      </div>
      {copied === false && <div className="error-text small">Could not copy: select the key and copy it.</div>}
      <p className="shown-once-note" data-testid="shown-once-note">
        Copy this key now and keep it somewhere safe: <strong>it will not be shown again</strong>.
        {shown.rotated && ' The previous key no longer works.'} Send it as <code>Authorization: Bearer &lt;key&gt;</code>.
      </p>
      <button type="button" className="button" onClick={onDismiss} data-testid="shown-once-dismiss">
        I have copied it
      </button>
    </div>
  )
}

// A form's title field and its submission: create(title) makes the thing; once it is made the
// field empties and done(what create returned) runs, an error goes to the banner.
function useTitleForm(create, done) {
  const report = useReport()
  const [title, setTitle] = useState('')
  const [busy, setBusy] = useState(false)
  const submit = async (e) => {
    e.preventDefault()
    setBusy(true)
    try {
      const made = await create(title.trim())
      report(null)
      setTitle('')
      done(made)
    } catch (err) {
      report(err)
    } finally {
      setBusy(false)
    }
  }
  return { title, setTitle, busy, submit }
}

function NewKeyForm({ app, onCreated }) {
  const { title, setTitle, busy, submit } = useTitleForm(
    (keyTitle) => call('POST', 'applications/' + seg(app.appId) + '/keys', { title: keyTitle }),
    (key) => onCreated(key, false),
  )
  return (
    <form className="inline-form" onSubmit={submit} data-testid="new-key-form">
      <input
        type="text"
        value={title}
        onChange={(e) => setTitle(e.target.value)}
        placeholder="Key title (e.g. laptop)"
        maxLength={100}
        data-testid="new-key-title"
        aria-label="Key title"
      />
      <button type="submit" className="button primary" disabled={busy} data-testid="new-key-submit">
        New key
      </button>
    </form>
  )
}

function Application({ app, catalog, shown, setShown, reload }) {
  const report = useReport()
  const base = 'applications/' + seg(app.appId)
  const act = async (method, path, after) => {
    try {
      const result = await call(method, path)
      report(null)
      if (after) after(result)
    } catch (err) {
      report(err)
    }
    reload()
  }
  const created = (key, rotated) => {
    rememberKey(key.key)
    setShown({ ...key, appId: app.appId, rotated })
    reload()
  }
  const keys = app.keys || []
  const subscriptions = app.subscriptions || []
  return (
    <section className="card app" data-testid="app-row" data-app-id={app.appId} data-title={app.title}>
      <div className="app-head">
        <h3 className="app-title" data-testid="app-title">
          {app.title}
        </h3>
        <span className="muted small">
          id <code data-testid="app-id">{app.appId}</code> · created {when(app.createdAt)}
        </span>
        {app.managed && (
          <span className="badge badge-managed" title="Managed by an administrator: read-only here" data-testid="app-managed">
            managed
          </span>
        )}
        {!app.managed && (
          <span className="app-actions">
            <ConfirmButton
              label="Delete"
              question="Delete this application? Its keys stop working and its subscriptions end."
              onConfirm={() => act('DELETE', base, () => shown && shown.appId === app.appId && setShown(null))}
              testid="delete-app"
            />
          </span>
        )}
      </div>

      {shown && shown.appId === app.appId && <ShownOnce shown={shown} onDismiss={() => setShown(null)} />}

      <h4>API keys</h4>
      {keys.length === 0 ? (
        <p className="muted small" data-testid="no-keys">
          No key yet.
        </p>
      ) : (
        <Table className="keys" head={['Title', 'Key', 'Created', !app.managed && '']}>
          {keys.map((k) => (
            <tr key={k.id} data-testid="key-row" data-key-id={k.id} data-prefix={k.prefix}>
              <td data-testid="key-title">{k.title || <span className="muted">untitled</span>}</td>
              <td>
                <code data-testid="key-prefix">{k.prefix}</code>
                <span className="muted">…</span>
              </td>
              <td data-testid="key-created">{when(k.createdAt)}</td>
              {!app.managed && (
                <td className="row-actions">
                  <ConfirmButton
                    label="Rotate"
                    className="button"
                    question="Replace this key by a new one? The old key stops working."
                    onConfirm={async () => {
                      try {
                        const key = await call('POST', base + '/keys/' + seg(k.id) + '/rotate', {})
                        report(null)
                        created(key, true)
                      } catch (err) {
                        report(err)
                        reload()
                      }
                    }}
                    testid="key-rotate"
                  />{' '}
                  <ConfirmButton
                    label="Revoke"
                    question="Revoke this key? Requests with it will be refused."
                    onConfirm={() => act('DELETE', base + '/keys/' + seg(k.id), () => shown && shown.id === k.id && setShown(null))}
                    testid="key-revoke"
                  />
                </td>
              )}
            </tr>
          ))}
        </Table>
      )}
      {!app.managed && <NewKeyForm app={app} onCreated={created} />}

      <h4>Subscriptions</h4>
      {subscriptions.length === 0 ? (
        <p className="muted small" data-testid="no-subscriptions">
          No subscription: choose an API in the <a href={href()}>catalog</a> and subscribe this application to one of its plans.
        </p>
      ) : (
        <Table className="subscriptions" head={['Offer', 'APIs', 'Since', !app.managed && '']}>
          {subscriptions.map((s) => (
            <tr key={s.catalogItem} data-testid="subscription-row" data-catalog-item={s.catalogItem} data-plan={s.plan}>
              <td data-testid="subscription-title">{offerTitle(catalog, s.catalogItem)}</td>
              <td>
                {(s.apis || []).map((api, i) => (
                  <span key={api}>
                    {i > 0 && ', '}
                    <a href={href('apis', api)}>{shortName(api)}</a>
                  </span>
                ))}
              </td>
              <td>{when(s.createdAt)}</td>
              {!app.managed && (
                <td className="row-actions">
                  <ConfirmButton
                    label="Unsubscribe"
                    question="End this subscription? The application's keys stop working for these APIs."
                    onConfirm={() => act('DELETE', base + '/subscriptions/' + seg(s.catalogItem))}
                    testid="unsubscribe"
                  />
                </td>
              )}
            </tr>
          ))}
        </Table>
      )}
    </section>
  )
}

function CreateForm({ onCreated }) {
  const { title, setTitle, busy, submit } = useTitleForm(
    (appTitle) => call('POST', 'applications', { title: appTitle }),
    () => onCreated(),
  )
  return (
    <form className="card inline-form create-app" onSubmit={submit} data-testid="create-app-form">
      <label htmlFor="new-app-title" className="strong">
        New application
      </label>
      <input
        id="new-app-title"
        type="text"
        value={title}
        onChange={(e) => setTitle(e.target.value)}
        placeholder="Title (e.g. Weather dashboard)"
        maxLength={100}
        required
        data-testid="create-app-title"
      />
      <button type="submit" className="button primary" disabled={busy} data-testid="create-app-submit">
        Create
      </button>
    </form>
  )
}

export default function Applications({ catalog }) {
  const { data, error, reload } = useResource('applications')
  const [shown, setShown] = useState(null)
  const apps = data ? data.applications || [] : []
  return (
    <div className="page" data-testid="applications-page">
      <h1>Applications</h1>
      <p className="muted">
        An application holds the API keys your code sends; subscribe it to an API&apos;s plan in the catalog to use that API.
      </p>
      <CreateForm onCreated={reload} />
      {!data && !error && <Loading />}
      <Problem error={!data ? error : null} />
      {data && apps.length === 0 && (
        <p className="muted" data-testid="no-apps">
          You have no application yet.
        </p>
      )}
      {apps.map((app) => (
        <Application key={app.appId} app={app} catalog={catalog.data} shown={shown} setShown={setShown} reload={reload} />
      ))}
    </div>
  )
}
