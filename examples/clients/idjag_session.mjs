// Test driver: an idjag Node `Session` gets a token for an MCP server and calls it.
//   node idjag_session.mjs MCP_URL < session-config.json
// prints one JSON line: {"status", "body", "scope", "authorizationServer"}. Never prints the
// token. Loads idjag from this repository's bindings-node build.
import { readFileSync } from 'node:fs'
import { createRequire } from 'node:module'

const { Session } = createRequire(import.meta.url)('../../bindings-node')
const url = process.argv[2]
const session = new Session(readFileSync(0, 'utf8'))
const token = await session.accessToken(url)
const r = await fetch(url, { headers: { authorization: token.authorization }, signal: AbortSignal.timeout(10000) })
const body = r.ok ? await r.json() : null
console.log(JSON.stringify({ status: r.status, body, scope: token.scope, authorizationServer: token.authorizationServer }))
