// An OAuth authorization server built on panva's oidc-provider that accepts ID-JAGs (MCP
// Enterprise-Managed Authorization, SEP-990): the RFC 7523 jwt-bearer grant registered with
// `provider.registerGrantType`, each assertion verified by idjag's `Verifier`. It also
// serves a tiny protected resource (`/mcp`) and its RFC 9728 metadata, so MCP clients can
// discover it. Run: `node server.mjs verifier.json clients.json` (README.md).
import { createServer } from 'node:http'
import { readFileSync } from 'node:fs'
import { pathToFileURL } from 'node:url'
import Provider from 'oidc-provider'
import { Verifier, tokenErrorResponse } from 'idjag'

const JWT_BEARER = 'urn:ietf:params:oauth:grant-type:jwt-bearer'
const ID_JAG_PROFILE = 'urn:ietf:params:oauth:grant-profile:id-jag'

/**
 * `verifierConfig`: idjag's verifier configuration (docs/GUIDE.md §5); its `issuer` is this
 * server's issuer. `clients`: oidc-provider client metadata (`client_id`, `client_secret`,
 * `token_endpoint_auth_method`), each the `client_id` its ID-JAGs name.
 */
export function idjagProvider(verifierConfig, clients, { accessTokenTtl = 300 } = {}) {
  const verifier = new Verifier(verifierConfig)
  const provider = new Provider(verifier.issuer, {
    clients: clients.map((c) => ({ grant_types: [JWT_BEARER], response_types: [], redirect_uris: [], ...c })),
    clientAuthMethods: ['client_secret_basic', 'client_secret_post'],
    discovery: { authorization_grant_profiles_supported: [ID_JAG_PROFILE] },
    features: { devInteractions: { enabled: false } },
    ttl: { AccessToken: accessTokenTtl },
  })
  provider.registerGrantType(JWT_BEARER, async (ctx) => {
    // oidc-provider has authenticated the client (else 401 invalid_client) and checked that
    // it may use this grant; the ID-JAG must name that client.
    const { client, params } = ctx.oidc
    let grant
    try {
      grant = await verifier.verify(params.assertion, client.clientId, params.scope ?? null)
    } catch (e) {
      // The reason to the log, the core's generic answer on the wire (400 invalid_grant,
      // invalid_scope, 503 when the IdP keys are unreachable, ...).
      console.error(`token: refused client_id=${client.clientId} reason=${e.reason ?? e.code}`)
      const { status, body } = tokenErrorResponse(e)
      ctx.status = status
      ctx.body = body
      return
    }
    // An opaque token in oidc-provider's store, bound to the ID-JAG's subject, client and
    // resource, with exactly the scope the verifier granted (none when it granted none).
    const token = new provider.AccessToken({
      client,
      accountId: grant.sub,
      gty: 'jwt_bearer',
      scope: grant.scope ?? undefined,
      extra: { idp: grant.iss, jti: grant.jti },
    })
    token.setAudience(grant.resource[0])
    ctx.body = {
      access_token: await token.save(),
      token_type: 'Bearer',
      expires_in: token.expiration,
      ...(grant.scope ? { scope: grant.scope } : {}),
    }
  }, ['assertion', 'scope', 'resource'])
  return provider
}

/** The AS plus a protected resource at `resource` (same origin): one request handler. */
export function handler(provider, resource) {
  const prmPath = `/.well-known/oauth-protected-resource${new URL(resource).pathname}`
  const prm = { resource, authorization_servers: [provider.issuer], bearer_methods_supported: ['header'] }
  const json = (res, status, body, headers = {}) => {
    res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store', ...headers })
    res.end(JSON.stringify(body))
  }
  const app = provider.callback()
  return async (req, res) => {
    const path = new URL(req.url, provider.issuer).pathname
    if (path === prmPath) return json(res, 200, prm)
    if (path === new URL(resource).pathname) {
      const [scheme, value] = (req.headers.authorization ?? '').split(' ')
      const token = scheme?.toLowerCase() === 'bearer' ? await provider.AccessToken.find(value) : undefined
      if (!token || token.aud !== resource) {
        const challenge = `Bearer resource_metadata="${new URL(prmPath, provider.issuer)}"`
        return json(res, 401, { error: 'invalid_token' }, { 'www-authenticate': challenge })
      }
      return json(res, 200, { sub: token.accountId, client_id: token.clientId, scope: token.scope ?? null })
    }
    // RFC 8414 metadata: oidc-provider serves the same document as OpenID discovery.
    if (path === '/.well-known/oauth-authorization-server') req.url = '/.well-known/openid-configuration'
    return app(req, res)
  }
}

if (import.meta.url === pathToFileURL(process.argv[1]).href) {
  const [verifierFile, clientsFile] = process.argv.slice(2)
  const config = JSON.parse(readFileSync(verifierFile, 'utf8'))
  const provider = idjagProvider(config, JSON.parse(readFileSync(clientsFile, 'utf8')))
  const { hostname, port } = new URL(provider.issuer)
  createServer(handler(provider, config.resources[0])).listen(Number(port), hostname, () => {
    console.log(`listening on ${provider.issuer}`)
  })
}
