// An OpenID provider for the API gateway's tests: the npm package `oidc-provider` (a certified
// implementation) on 127.0.0.1, with the clients the tests use.
//
//   node oidc_idp.mjs [--port 0]
// First stdout line: {"port": N, "issuer": "http://127.0.0.1:N"}.
//
// Clients:
//   machine   / machine-secret    client_credentials, scopes api:read api:write (opaque tokens)
//   jwtmachine / jwtmachine-secret client_credentials for resource urn:orders (JWT access tokens)
//   resource  / resource-secret   may introspect any token
// Endpoints are oidc-provider's: /.well-known/openid-configuration, /token,
// /token/introspection, /token/revocation, /jwks.
import Provider from 'oidc-provider';

const args = process.argv.slice(2);
const port = Number(args[args.indexOf('--port') + 1] || 0);

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
    ],
    scopes: ['openid', 'api:read', 'api:write', 'orders:read'],
    features: {
      clientCredentials: { enabled: true },
      introspection: { enabled: true, allowedPolicy: async () => true },
      revocation: { enabled: true },
      devInteractions: { enabled: false },
      resourceIndicators: {
        enabled: true,
        defaultResource: (ctx, client) => (client && client.clientId === 'jwtmachine' ? 'urn:orders' : undefined),
        useGrantedResource: () => true,
        getResourceServerInfo: (ctx, resource) => {
          if (resource === 'urn:orders') {
            return { scope: 'orders:read', audience: 'urn:orders', accessTokenTTL: 300, accessTokenFormat: 'jwt' };
          }
          throw new Error('unknown resource');
        },
      },
    },
    ttl: { ClientCredentials: 300 },
  });
  provider.proxy = false;
  server.on('request', provider.callback());
  console.log(JSON.stringify({ port: server.address().port, issuer }));
}

start().catch((e) => {
  console.error(e);
  process.exit(1);
});
process.on('SIGTERM', () => process.exit(0));
