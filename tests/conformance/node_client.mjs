#!/usr/bin/env node
// An MCP client built on the official MCP TypeScript SDK (`@modelcontextprotocol/client`) +
// `idjag/mcp`, for the MCP conformance suite's client scenarios (tests/conformance/run.sh):
// - enterprise-managed authorization (SEP-990: `auth/cross-app-access-complete-flow`,
//   `auth/enterprise-managed-authorization`): the context has client_id, client_secret,
//   idp_client_id, idp_client_secret?, idp_id_token, idp_issuer, idp_token_endpoint;
// - workload identity federation (SEP-1933: `auth/wif-jwt-bearer`): the context has client_id
//   and valid_jwt (plus wrong_audience_jwt and expired_jwt, which the suite's AS rejects as
//   failures: a client that sends them fails the scenario, so they are not used).
//
// The suite runs `<command> <server_url>` with MCP_CONFORMANCE_SCENARIO and
// MCP_CONFORMANCE_CONTEXT (JSON) in the environment. The client picks the idjag session
// configuration by the context's keys (valid_jwt: a workload; otherwise a user with an IdP),
// connects with the SDK's streamable HTTP transport and
// `authProvider: new IdjagAuthProvider(session, url)`, lists the tools and exits 0.
// `idjag-testkit serve --json` prints a context of the enterprise-managed shape
// (bindings-node/__test__/conformance.test.mjs runs this client against it).
//
// `idjag` and the SDK are resolved from bindings-node/ (its node_modules and the package itself).
import { createRequire } from 'node:module'

const require = createRequire(new URL('../../bindings-node/package.json', import.meta.url))
const { Client, StreamableHTTPClientTransport } = require('@modelcontextprotocol/client')
const { Session, IdjagError } = require('idjag')
const { IdjagAuthProvider } = require('idjag/mcp')

export function sessionConfig(ctx) {
  return 'valid_jwt' in ctx ? workloadConfig(ctx) : userConfig(ctx)
}

/** A workload identity (SEP-1933): the workload JWT goes straight to the MCP server's
 * authorization server with the jwt-bearer grant; no IdP, and a public client there. */
function workloadConfig(ctx) {
  return {
    workload: { assertion: ctx.valid_jwt },
    client: { client_id: ctx.client_id, auth_method: 'none' },
    timeout_ms: 10000,
  }
}

/** A user signed in at an enterprise IdP (SEP-990): token exchange of the ID token at the IdP
 * for an ID-JAG, then the jwt-bearer grant at the authorization server. */
function userConfig(ctx) {
  const idp = {
    issuer: ctx.idp_issuer,
    token_endpoint: ctx.idp_token_endpoint,
    client_id: ctx.idp_client_id,
  }
  if (ctx.idp_client_secret) idp.client_secret = ctx.idp_client_secret
  else idp.auth_method = 'none' // a public client at the IdP
  return {
    idp,
    subject_token: ctx.idp_id_token,
    subject_token_type: 'id_token',
    client: { client_id: ctx.client_id, client_secret: ctx.client_secret, auth_method: 'client_secret_basic' },
    // The suite's AS is whatever the MCP server names: the permissive value, explicitly.
    client_issuers: 'any',
    timeout_ms: 10000,
  }
}

async function run(serverUrl, ctx) {
  const session = new Session(sessionConfig(ctx))
  const transport = new StreamableHTTPClientTransport(new URL(serverUrl), {
    authProvider: new IdjagAuthProvider(session, serverUrl),
  })
  const client = new Client({ name: 'idjag-node-conformance', version: '0.1.0' })
  await client.connect(transport)
  try {
    const tools = await client.listTools()
    return tools.tools.map((t) => t.name)
  } finally {
    await client.close()
  }
}

/** The idjag error inside an SDK error (it wraps auth failures as causes). */
function idjagError(e) {
  for (let x = e; x; x = x.cause) if (x instanceof IdjagError) return x
  return null
}

async function main() {
  const serverUrl = process.argv.at(-1)
  if (process.argv.length < 3) {
    process.stderr.write('usage: node_client.mjs <server_url>\n')
    return 2
  }
  const ctx = JSON.parse(process.env.MCP_CONFORMANCE_CONTEXT || '{}')
  const scenario = process.env.MCP_CONFORMANCE_SCENARIO || ''
  try {
    const names = await run(serverUrl, ctx)
    process.stdout.write(`${scenario || 'connected'}: ${names.length} tool(s): ${names.join(', ')}\n`)
    return 0
  } catch (e) {
    const err = idjagError(e)
    if (!err) throw e
    // idjag messages never contain tokens or secrets.
    process.stderr.write(`idjag error [${err.code}/${err.step}/${err.action}]: ${err.message}\n`)
    return 1
  }
}

process.exitCode = await main()
