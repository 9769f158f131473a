/**
 * idjag for the official MCP TypeScript SDK (`@modelcontextprotocol/client` v2): see mcp.js.
 */
import type { AssertionCallback, AuthProvider, FetchLike, Middleware } from '@modelcontextprotocol/client'
import type { Session } from './index'

/** An `AuthProvider` backed by an idjag `Session` for one MCP server. */
export declare class IdjagAuthProvider implements AuthProvider {
  constructor(session: Session, serverUrl: string | URL)
  readonly session: Session
  readonly serverUrl: string
  /** The bearer token: cached (no I/O), or renewed (one exchange shared by concurrent callers). */
  token(): Promise<string>
  /** Hands the 401 challenge to `session.handleChallenge`; the transport then retries once. */
  onUnauthorized(ctx: Parameters<NonNullable<AuthProvider['onUnauthorized']>>[0]): Promise<void>
  toJSON(): { serverUrl: string }
}

/** Options of `withIdjag`. */
export interface WithIdjagOptions {
  /** The MCP server URL tokens are for; default: each request's URL without query or fragment. */
  serverUrl?: string | URL
}

/**
 * A fetch middleware: bearer token on every request, 401 and 403 (`insufficient_scope`
 * step-up) challenges answered by the session with one retry.
 */
export declare function withIdjag(session: Session, options?: WithIdjagOptions): Middleware

/** The `assertion` callback of the SDK's `CrossAppAccessProvider` (leg 1 by idjag). */
export declare function assertionCallback(
  session: Session,
  options?: { scope?: string },
): AssertionCallback

export type { FetchLike }
