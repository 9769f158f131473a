'use strict'
/**
 * idjag for the official MCP TypeScript SDK (`@modelcontextprotocol/client` v2).
 *
 * 1. `new IdjagAuthProvider(session, serverUrl)`: an `AuthProvider` (`{ token(), onUnauthorized(ctx) }`)
 *    backed by an idjag `Session` — discovery, both legs, caching, renewal and 401 handling:
 *
 *        const transport = new StreamableHTTPClientTransport(new URL(url), {
 *          authProvider: new IdjagAuthProvider(session, url),
 *        })
 *
 *    `token()` answers a cached token on the event loop (no thread hop); concurrent calls that
 *    need a renewal share one exchange. `onUnauthorized(ctx)` hands the 401 challenge to
 *    `session.handleChallenge`, and the transport retries once.
 *
 *    The SDK only steps up a 403 `insufficient_scope` for its own OAuth providers; with any
 *    other `AuthProvider` it throws `InsufficientScopeError`. For step-up, use (2).
 *
 * 2. `withIdjag(session, { serverUrl? })`: a fetch middleware (`(next) => fetch`) doing the
 *    same for every request, including the step-up of a 403 `insufficient_scope` (the union of
 *    scopes): `new StreamableHTTPClientTransport(url, { fetch: withIdjag(session)(fetch) })`.
 *
 * 3. `assertionCallback(session, { scope? })`: the `assertion` callback of the SDK's own
 *    `CrossAppAccessProvider`, for code that keeps that class: idjag does leg 1 (the IdP token
 *    exchange, with its endpoint resolution and ID-token renewal) and the SDK does the rest.
 *
 * This module does not import the SDK: it only implements its interfaces.
 */
const { IdjagError, Session } = require('./index.js')

function checkSession(session) {
  if (!(session instanceof Session)) {
    throw new TypeError('expected an idjag Session')
  }
  return session
}

/** The `WWW-Authenticate` value of a fetch `Response` (several headers come joined by ", "). */
function challengeOf(response) {
  return response.headers.get('www-authenticate')
}

/** A 403 the core calls `denied` is an answer, not a failure of the auth layer. */
function isDenied(error, status) {
  return status === 403 && error instanceof IdjagError && error.action === 'denied'
}

/** The token of a server, renewing at most once at a time per key (shared by callers). */
class Renewals {
  #session
  #pending = new Map()

  constructor(session) {
    this.#session = session
  }

  token(serverUrl) {
    const cached = this.#session.cachedToken(serverUrl)
    if (cached) return cached
    let p = this.#pending.get(serverUrl)
    if (!p) {
      p = this.#session.accessToken(serverUrl).finally(() => this.#pending.delete(serverUrl))
      this.#pending.set(serverUrl, p)
    }
    return p
  }
}

class IdjagAuthProvider {
  #session
  #serverUrl
  #renewals
  /** The last token handed out (the one the server most likely rejected). */
  #current

  /**
   * @param {Session} session the user's idjag session
   * @param {string | URL} serverUrl the MCP server URL (the transport's URL)
   */
  constructor(session, serverUrl) {
    this.#session = checkSession(session)
    if (serverUrl === undefined || serverUrl === null || String(serverUrl) === '') {
      throw new TypeError('expected the MCP server URL')
    }
    this.#serverUrl = String(serverUrl)
    this.#renewals = new Renewals(session)
  }

  get session() {
    return this.#session
  }

  get serverUrl() {
    return this.#serverUrl
  }

  /** The bearer token for the next request: cached, or renewed (one exchange for all callers). */
  async token() {
    const t = await this.#renewals.token(this.#serverUrl)
    this.#current = t
    return t.accessToken
  }

  /** A 401 from the MCP server: the core decides (re-exchange, rediscovery, or an error). */
  async onUnauthorized(ctx) {
    const response = ctx.response
    const t = await this.#session.handleChallenge(
      this.#serverUrl,
      response.status,
      challengeOf(response),
      this.#current ? this.#current.accessToken : null,
    )
    this.#current = t
  }

  toString() {
    return `IdjagAuthProvider(${this.#serverUrl})`
  }

  toJSON() {
    return { serverUrl: this.#serverUrl }
  }
}

function serverUrlOf(input) {
  const raw = typeof input === 'string' ? input : input instanceof URL ? input.href : input.url
  const u = new URL(raw)
  u.search = ''
  u.hash = ''
  return u.href
}

/**
 * A fetch middleware adding the session's bearer token to every request and answering 401
 * and 403 challenges with `session.handleChallenge` (one retry). When the core says a 403 is
 * a denial by policy, the 403 response is returned as is; any other `IdjagError` rejects.
 */
function withIdjag(session, options = {}) {
  checkSession(session)
  const fixedUrl = options.serverUrl === undefined ? undefined : String(options.serverUrl)
  const renewals = new Renewals(session)
  return (next) => {
    const base = next ?? globalThis.fetch
    return async (input, init) => {
      const url = fixedUrl ?? serverUrlOf(input)
      const replay = typeof Request !== 'undefined' && input instanceof Request ? input.clone() : input
      const token = await renewals.token(url)
      const headers = new Headers(init?.headers ?? (input instanceof Request ? input.headers : undefined))
      headers.set('authorization', token.authorization)
      const response = await base(input, { ...init, headers })
      const status = response.status
      if (status !== 401 && status !== 403) return response
      let fresh
      try {
        fresh = await session.handleChallenge(url, status, challengeOf(response), token.accessToken)
      } catch (e) {
        if (isDenied(e, status)) return response
        throw e
      }
      await response.body?.cancel().catch(() => {})
      headers.set('authorization', fresh.authorization)
      return base(replay, { ...init, headers })
    }
  }
}

/**
 * The `assertion` callback of the SDK's `CrossAppAccessProvider`: leg 1 by idjag
 * (`session.requestIdJag(authorizationServerUrl, resourceUrl, scope)`). Every call mints a
 * fresh ID-JAG (authorization servers accept each only once); the SDK provider redeems it.
 */
function assertionCallback(session, options = {}) {
  checkSession(session)
  return async (ctx) => {
    const scope = ctx.scope ?? options.scope ?? null
    const jag = await session.requestIdJag(ctx.authorizationServerUrl, ctx.resourceUrl, scope)
    return jag.assertion
  }
}

module.exports = { IdjagAuthProvider, assertionCallback, withIdjag }
