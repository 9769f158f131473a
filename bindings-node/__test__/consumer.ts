// A small consumer of the package's types, type-checked by types.test.mjs
// (`tsc --noEmit`, strict). It is compiled, not run.
import { Client, StreamableHTTPClientTransport, CrossAppAccessProvider } from '@modelcontextprotocol/client'
import {
  Client as IdjagClient,
  Session,
  Verifier,
  IdjagError,
  errorCodes,
  inspect,
  tokenErrorResponse,
  type ErrorCode,
  type IdJagRequest,
  type SessionConfig,
  type SessionEvent,
  type Token,
  type TokenErrorResponse,
  type VerifiedGrant,
} from 'idjag'
import { IdjagAuthProvider, assertionCallback, withIdjag } from 'idjag/mcp'

const config: SessionConfig = {
  idp: { issuer: 'https://idp.example.com', client_id: 'app', client_secret: 's' },
  subject_token: 'eyJ...',
  client: { client_id: 'app-at-as', auth_method: 'client_secret_basic', client_secret: 's' },
  client_issuers: ['https://as.example.com'],
  jwt_bearer_scope: { 'https://as.example.com': 'omit', 'https://other.example.com': { value: 'mcp:read' } },
  timeout_ms: 10000,
}

export async function main(url: string): Promise<string> {
  const events: string[] = []
  const onEvent = (e: SessionEvent) => {
    if (e.type === 'http') events.push(`${e.method} ${e.url} ${e.status ?? '-'} ${e.note ?? ''}`)
    else events.push(`${e.kind}: ${e.issuer ?? ''} ${e.clientId ?? ''} ${e.message}`)
  }
  const session = new Session(config, { onEvent })
  const ac = new AbortController()
  const token: Token = await session.accessToken(url, { signal: ac.signal })
  const header: string = token.authorization
  const expires: number = token.expiresAt
  const cached: Token | null = session.cachedToken(url)
  const retry = await session.handleChallenge(url, 401, 'Bearer error="invalid_token"', token.accessToken)
  const jag = await session.requestIdJag('https://as.example.com', url, null)
  const d = await session.discover(url)
  const supported: boolean = d.internal && d.audience.length > 0 && typeof d.authorizationServer.token_endpoint === 'string'
  session.setSubjectToken('eyJ...', 'id_token')
  session.invalidate(url)

  const mcp = new Client({ name: 'consumer', version: '1.0.0' })
  await mcp.connect(new StreamableHTTPClientTransport(new URL(url), { authProvider: new IdjagAuthProvider(session, url) }))
  await mcp.connect(new StreamableHTTPClientTransport(new URL(url), { fetch: withIdjag(session)(fetch) }))
  const provider = new CrossAppAccessProvider({
    assertion: assertionCallback(session),
    clientId: 'c',
    clientSecret: 's',
    expectedIssuer: 'https://as.example.com',
  })
  await mcp.connect(new StreamableHTTPClientTransport(new URL(url), { authProvider: provider }))

  try {
    await session.accessToken(url)
  } catch (e) {
    if (e instanceof IdjagError) {
      const code: ErrorCode = e.code
      if (code === 'oauth_error') return `${e.oauthError} ${e.errorDescription ?? ''} ${e.status ?? 0}`
      if (e.action === 'reauthenticate') return 'sign in again'
      // @ts-expect-error: not an error code
      if (e.code === 'no_such_code') return 'unreachable'
    }
    throw e
  }

  const legs = new IdjagClient({ http: { timeout_ms: 5000 }, onEvent: (e) => events.push(e.step) })
  const request: IdJagRequest = {
    token_endpoint: 'https://idp.example.com/token',
    client: { client_id: 'app', client_secret: 's' },
    audience: 'https://as.example.com',
    subject_token: 'eyJ...',
    resource: url,
  }
  const fresh = await legs.requestIdJag(request)
  const at = await legs.redeemIdJag({ token_endpoint: 'https://as.example.com/token', client: { client_id: 'c' }, assertion: fresh.assertion })

  const verifier = new Verifier({
    issuer: 'https://as.example.com',
    resources: [url],
    trusted_idps: [{ issuer: 'https://idp.example.com' }],
    default_scope: 'mcp:read',
    client_scopes: { c: 'mcp:read mcp:write' },
    replay: { redis_url: 'redis://127.0.0.1:6379/0' },
  })
  const grant: VerifiedGrant = await verifier.verify(jag.assertion, 'c', 'mcp:read')
  const granted: string = grant.scope ?? (grant.scopeSource === 'no_statement' ? 'nothing' : '')
  const answer: TokenErrorResponse = tokenErrorResponse('verification_failed')
  const { status, body } = answer
  const codes: ErrorCode[] = errorCodes()
  const i = inspect(jag.assertion)
  return [header, expires, cached?.scope, retry.scope, supported, grant.sub, granted, at.tokenType, status, body.error, codes.length, i.kind, events.length].join(' ')
}
