// Test helpers: one `idjag-testkit serve --json` process (IdP + AS + MCP server on loopback)
// per test file, driven through its admin API (testkit/src/admin.rs).
import { spawn, execFileSync } from 'node:child_process'
import { appendFileSync } from 'node:fs'
import { createInterface } from 'node:readline'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..')

/** `$IDJAG_TESTKIT`, else `cargo build -p idjag-testkit` in `$CARGO_TARGET_DIR`. */
function testkitBinary() {
  if (process.env.IDJAG_TESTKIT) return process.env.IDJAG_TESTKIT
  execFileSync('cargo', ['build', '--quiet', '-p', 'idjag-testkit'], { cwd: ROOT, stdio: 'inherit' })
  const target = process.env.CARGO_TARGET_DIR ?? join(ROOT, 'target')
  return join(target, 'debug', 'idjag-testkit')
}

/**
 * Appends a passed interop result to `$IDJAG_MATRIX` (scripts/matrix.py makes the README's
 * interop matrix from it; testkit/src/matrix.rs documents the line). One O_APPEND write.
 */
export function recordMatrix(client, server, test) {
  const path = process.env.IDJAG_MATRIX
  if (!path) return
  appendFileSync(path, JSON.stringify({ client, server, test }) + '\n')
}

export class Kit {
  constructor(proc, info) {
    this.proc = proc
    this.info = info
    this.mcpUrl = info.mcp_url
    this.mcp2Url = info.mcp_url.replace(/\/mcp$/, '/mcp2')
    this.asIssuer = info.as_issuer
    this.asTokenEndpoint = info.as_token_endpoint
    this.idpIssuer = info.idp_issuer
    this.idpTokenEndpoint = info.idp_token_endpoint
    this.adminUrl = info.admin_url
    const keep = (c) => ({ client_id: c.client_id, client_secret: c.client_secret })
    this.idpClient = keep(info.clients.idp)
    this.asClient = keep(info.clients.as)
    this.context = info.context
  }

  /** Starts a kit (with a second MCP server at `/mcp2`). */
  static async start(args = []) {
    const proc = spawn(testkitBinary(), ['serve', '--json', '--mcp-path', '/mcp2', ...args], {
      stdio: ['pipe', 'pipe', 'inherit'],
    })
    const lines = createInterface({ input: proc.stdout })
    const line = await new Promise((res, rej) => {
      lines.once('line', res)
      proc.once('exit', (code) => rej(new Error(`idjag-testkit exited (${code}) without its JSON line`)))
    })
    lines.close()
    return new Kit(proc, JSON.parse(line))
  }

  async stop() {
    this.proc.stdin.end()
    await new Promise((res) => {
      const t = setTimeout(() => this.proc.kill(), 20000)
      this.proc.once('exit', () => {
        clearTimeout(t)
        res()
      })
    })
  }

  async admin(path, body) {
    const r = await fetch(path ? `${this.adminUrl}/${path}` : this.adminUrl, {
      method: body === undefined ? 'GET' : 'POST',
      headers: { 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    })
    if (!r.ok) throw new Error(`admin ${path}: HTTP ${r.status} ${await r.text()}`)
    return r.json()
  }

  /** Clears counters, faults, the request log and the clock offset. */
  async reset() {
    await this.admin('reset', {})
    await this.admin('clock', { offset_secs: 0 })
  }

  /** Requests per endpoint (`idp_token`, `as_token`, `prm`, `as_metadata`, ...). */
  async counters() {
    const c = await this.admin('counters')
    return Object.fromEntries(Object.entries(c.endpoints).map(([k, v]) => [k, Number(v.requests)]))
  }

  async fault(endpoint, fault, times) {
    await this.admin('faults', times === undefined ? { endpoint, fault } : { endpoint, fault, times })
  }

  async idToken(extra = {}) {
    return (await this.admin('id_token', { user: 'alice', ...extra })).id_token
  }

  /**
   * A Session configuration for the default user at this kit. The AS client has a secret, so
   * `client_issuers` names the kit's AS: the only server that secret may be sent to.
   */
  async config(overrides = {}) {
    return {
      idp: { issuer: this.idpIssuer, ...this.idpClient },
      subject_token: await this.idToken(),
      client: { ...this.asClient },
      client_issuers: [this.asIssuer],
      timeout_ms: 10000,
      ...overrides,
    }
  }

  /** Every secret the kit handed out, to check that none leaks. */
  secrets() {
    const out = [this.idpClient.client_secret, this.asClient.client_secret, this.context.idp_id_token]
    for (const c of Object.values(this.info.clients)) if (c.private_key_pem) out.push(c.private_key_pem)
    return out
  }
}

/** Elapsed milliseconds of `f()`. */
export async function timed(f) {
  const t0 = performance.now()
  const v = await f()
  return [v, performance.now() - t0]
}
