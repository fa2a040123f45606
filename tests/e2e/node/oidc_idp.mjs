// An OpenID provider for the API gateway's tests: the npm package `oidc-provider` (a certified
// implementation) on 127.0.0.1, with the clients the tests use. The package behaviour the tests
// rely on (development login and consent pages, logout confirmation, revocation) is described in
// docs/development.md, "The tests' identity provider".
//
//   node oidc_idp.mjs [--port 0] [--redirect URI --post-logout URI --backchannel URI] [--access-ttl S]
// First stdout line: {"port": N, "issuer": "http://127.0.0.1:N"}.
//
// Clients:
//   machine   / machine-secret    client_credentials, scopes api:read api:write (opaque tokens)
//   jwtmachine / jwtmachine-secret client_credentials for resource urn:orders (JWT access tokens)
//   resource  / resource-secret   may introspect any token
//   agent     / agent-secret      client_credentials, scope mcp:tools; with a `resource` that is an
//                                 http://127.0.0.1 URL (an MCP endpoint behind causeway) the access
//                                 token is a JWT whose audience is that resource
//   gateway   / gateway-secret    RFC 8693 token exchange (below)
//
// Token exchange (RFC 8693; oidc-provider has the grant registry but no such grant, so it is
// registered here): grant_type urn:ietf:params:oauth:grant-type:token-exchange with a
// subject_token this provider issued (a JWT access token it signed, or an opaque one it knows)
// and subject_token_type ...:access_token gives an opaque access token for the same subject,
// issued to the calling client (introspection shows sub and client_id); anything else is
// 400 invalid_grant / invalid_request.
//   app       / app-secret        authorization code (+ refresh tokens) for a browser login, with
//                                 --redirect, --post-logout and --backchannel as its URIs; any
//                                 login name is accepted (the provider's development login pages)
//   portal    / portal-secret     authorization code (+ refresh tokens) for causeway's developer
//                                 portal, registered with --portal-redirect URI (repeatable: one
//                                 per portal address); its post-logout URIs are --portal-post-logout
//                                 (repeatable), by default each redirect URI without /auth/callback
//                                 (with a trailing slash)
// --groups USER=G1,G2 (repeatable) gives USER those groups (default: admin* → admins, staff;
// anyone else → staff). The `profile` scope gives given_name (the login name, capitalized),
// family_name "Tester" and name.
// Endpoints are oidc-provider's: /.well-known/openid-configuration, /token,
// /token/introspection, /token/revocation, /jwks.
import Provider from 'oidc-provider';
import { createRemoteJWKSet, jwtVerify } from 'jose';

const args = process.argv.slice(2);
const arg = (name, fallback) => (args.includes(name) ? args[args.indexOf(name) + 1] : fallback);
const port = Number(arg('--port', 0));
const redirect = arg('--redirect', null);
const EXCHANGE = 'urn:ietf:params:oauth:grant-type:token-exchange';
const all = (name) => args.flatMap((a, i) => (a === name && i + 1 < args.length ? [args[i + 1]] : []));
const portalRedirects = all('--portal-redirect');
const portalPostLogout = all('--portal-post-logout');
const groupsOf = Object.fromEntries(all('--groups').map((g) => {
  const [user, list] = g.split('=');
  return [user, list ? list.split(',').filter(Boolean) : []];
}));
const defaultGroups = (id) => (id.startsWith('admin') ? ['admins', 'staff'] : ['staff']);
const capitalized = (id) => id.charAt(0).toUpperCase() + id.slice(1);

// oidc-provider prints a warning on Node 20; the tests read only our JSON line.
process.removeAllListeners('warning');

async function start() {
  const { createServer } = await import('node:http');
  const server = createServer();
  await new Promise((resolve) => server.listen(port, '127.0.0.1', resolve));
  const issuer = `http://127.0.0.1:${server.address().port}`;
  const provider = new Provider(issuer, {
    clients: [
      { client_id: 'machine', client_secret: 'machine-secret', grant_types: ['client_credentials'],
        redirect_uris: [], response_types: [], scope: 'api:read api:write' },
      { client_id: 'jwtmachine', client_secret: 'jwtmachine-secret', grant_types: ['client_credentials'],
        redirect_uris: [], response_types: [], scope: 'orders:read' },
      { client_id: 'resource', client_secret: 'resource-secret', grant_types: [], redirect_uris: [],
        response_types: [] },
      { client_id: 'agent', client_secret: 'agent-secret', grant_types: ['client_credentials'],
        redirect_uris: [], response_types: [], scope: 'mcp:tools' },
      { client_id: 'gateway', client_secret: 'gateway-secret', grant_types: [EXCHANGE],
        redirect_uris: [], response_types: [], scope: 'upstream:call' },
      ...(redirect ? [{
        client_id: 'app', client_secret: 'app-secret', grant_types: ['authorization_code', 'refresh_token'],
        response_types: ['code'], redirect_uris: [redirect],
        post_logout_redirect_uris: [arg('--post-logout', redirect)],
        ...(args.includes('--backchannel') ? { backchannel_logout_uri: arg('--backchannel'),
          backchannel_logout_session_required: true } : {}),
      }] : []),
      ...(portalRedirects.length ? [{
        client_id: 'portal', client_secret: 'portal-secret', grant_types: ['authorization_code', 'refresh_token'],
        response_types: ['code'], redirect_uris: portalRedirects,
        post_logout_redirect_uris: portalPostLogout.length ? portalPostLogout
          : portalRedirects.map((u) => u.replace(/\/auth\/callback$/, '/')),
      }] : []),
    ],
    findAccount: (ctx, id) => ({
      accountId: id,
      claims: () => ({ sub: id, email: `${id}@example.com`, groups: groupsOf[id] || defaultGroups(id),
        given_name: capitalized(id), family_name: 'Tester', name: `${capitalized(id)} Tester` }),
    }),
    claims: { openid: ['sub'], email: ['email'], groups: ['groups'], profile: ['name', 'given_name', 'family_name'] },
    conformIdTokenClaims: false,
    issueRefreshToken: async () => true,
    // The provider refuses outgoing requests to special-use addresses (SSRF protection); the
    // back-channel logout here goes to causeway on 127.0.0.1, so the test lifts it.
    fetch: (url, options) => {
      delete options.dispatcher;
      return globalThis.fetch(url, options);
    },
    scopes: ['openid', 'offline_access', 'email', 'profile', 'groups', 'api:read', 'api:write', 'orders:read', 'mcp:tools',
      'upstream:call'],
    features: {
      clientCredentials: { enabled: true },
      introspection: { enabled: true, allowedPolicy: async () => true },
      revocation: { enabled: true },
      devInteractions: { enabled: true },
      backchannelLogout: { enabled: true },
      rpInitiatedLogout: { enabled: true },
      resourceIndicators: {
        enabled: true,
        defaultResource: (ctx, client) => (client && client.clientId === 'jwtmachine' ? 'urn:orders' : undefined),
        useGrantedResource: () => true,
        getResourceServerInfo: (ctx, resource) => {
          if (resource === 'urn:orders') {
            return { scope: 'orders:read', audience: 'urn:orders', accessTokenTTL: 300, accessTokenFormat: 'jwt' };
          }
          if (resource.startsWith('http://127.0.0.1:')) {
            return { scope: 'mcp:tools', audience: resource, accessTokenTTL: 300, accessTokenFormat: 'jwt' };
          }
          throw new Error('unknown resource');
        },
      },
    },
    ttl: { ClientCredentials: 300, AccessToken: Number(arg('--access-ttl', 3600)), IdToken: 3600 },
  });
  provider.proxy = false;
  const keys = createRemoteJWKSet(new URL(`${issuer}/jwks`));
  provider.registerGrantType(EXCHANGE, async (ctx) => {
    const { subject_token: subject, subject_token_type: type, scope } = ctx.oidc.params;
    const fail = (error, description) => {
      ctx.status = 400;
      ctx.body = { error, error_description: description };
    };
    if (type !== 'urn:ietf:params:oauth:token-type:access_token') return fail('invalid_request', 'unsupported subject_token_type');
    if (!subject) return fail('invalid_request', 'subject_token missing');
    let sub;
    try {
      sub = (await jwtVerify(subject, keys, { issuer })).payload.sub;
    } catch {
      const found = await provider.AccessToken.find(subject);
      if (!found) return fail('invalid_grant', 'subject_token is not valid');
      sub = found.accountId;
    }
    if (!sub) return fail('invalid_grant', 'subject_token has no subject');
    const grant = new provider.Grant({ accountId: sub, clientId: ctx.oidc.client.clientId });
    const granted = scope || 'upstream:call';
    grant.addResourceScope?.('urn:upstream', granted);
    const grantId = await grant.save();
    const token = new provider.AccessToken({ accountId: sub, client: ctx.oidc.client, grantId, scope: granted, gty: 'token-exchange' });
    const value = await token.save();
    console.log(JSON.stringify({ tokenExchange: 'issued', sub, client: ctx.oidc.client.clientId }));
    ctx.body = { access_token: value, issued_token_type: 'urn:ietf:params:oauth:token-type:access_token',
                 token_type: 'Bearer', expires_in: token.expiration, scope: granted };
  }, ['subject_token', 'subject_token_type', 'audience', 'resource', 'scope', 'requested_token_type']);
  provider.on('backchannel.error', (ctx, error, client) => console.log(JSON.stringify({ backchannel: 'error', client: client && client.clientId, error: String(error), cause: String(error && error.cause) })));
  provider.on('backchannel.success', (ctx, client) => console.log(JSON.stringify({ backchannel: 'sent', client: client.clientId })));
  provider.on('end_session.success', () => console.log(JSON.stringify({ endSession: 'success' })));
  provider.on('server_error', (ctx, error) => console.log(JSON.stringify({ serverError: String(error) })));
  server.on('request', provider.callback());
  console.log(JSON.stringify({ port: server.address().port, issuer }));
}

start().catch((e) => {
  console.error(e);
  process.exit(1);
});
process.on('SIGTERM', () => process.exit(0));
