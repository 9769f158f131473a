// Helpers for the TypeScript SDK peer tests: one `idjag-testkit serve --json` process per
// group of tests, a fetch recorder (the SDK is not changed: the recorder only sees what the
// SDK's own code sends) and the interop-matrix line (BRIEF: IDJAG_MATRIX).
import { spawn } from 'node:child_process'
import { appendFileSync } from 'node:fs'
import { createInterface } from 'node:readline'
import { dirname, join, relative, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..')

function testkitBinary() {
  if (process.env.IDJAG_TESTKIT) return process.env.IDJAG_TESTKIT
  return join(process.env.CARGO_TARGET_DIR ?? join(ROOT, 'target'), 'debug', 'idjag-testkit')
}

export class Kit {
  /** Starts `idjag-testkit serve --json ...args`; rejects after 30 s without its line. */
  static async start(args = []) {
    const proc = spawn(testkitBinary(), ['serve', '--json', ...args], { stdio: ['pipe', 'pipe', 'inherit'] })
    const lines = createInterface({ input: proc.stdout })
    let timer
    const line = await new Promise((res, rej) => {
      timer = setTimeout(() => rej(new Error('idjag-testkit printed no JSON line in 30 s')), 30000)
      lines.once('line', res)
      proc.once('error', rej)
      proc.once('exit', (code) => rej(new Error(`idjag-testkit exited (${code}) without its JSON line`)))
    }).finally(() => clearTimeout(timer))
    lines.close()
    const kit = new Kit()
    kit.proc = proc
    kit.info = JSON.parse(line)
    return kit
  }

  get mcpUrl() { return this.info.mcp_url }
  get asIssuer() { return this.info.as_issuer }
  get idpIssuer() { return this.info.idp_issuer }
  get idpClient() { return this.info.clients.idp }
  get asClient() { return this.info.clients.as }

  async stop() {
    this.proc.stdin.end()
    await new Promise((res) => {
      const t = setTimeout(() => { this.proc.kill(); res() }, 10000)
      this.proc.once('exit', () => { clearTimeout(t); res() })
    })
  }

  async admin(path, body) {
    const r = await fetch(`${this.info.admin_url}/${path}`, {
      method: body === undefined ? 'GET' : 'POST',
      headers: { 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(10000),
    })
    if (!r.ok) throw new Error(`admin ${path}: HTTP ${r.status}`)
    return r.json()
  }

  async reset() { await this.admin('reset', {}) }

  async idToken() { return (await this.admin('id_token', { user: 'alice' })).id_token }

  async counters() {
    const c = await this.admin('counters')
    return Object.fromEntries(Object.entries(c.endpoints).map(([k, v]) => [k, Number(v.requests)]))
  }

  /** The kit's request log: `[{role, endpoint, method, path, status, error, detail}]`. */
  async requests() { return this.admin('requests') }

  async fault(endpoint, fault, times) {
    await this.admin('faults', times === undefined ? { endpoint, fault } : { endpoint, fault, times })
  }
}

/**
 * A fetch that records every request (URL, method, headers, form body) and passes it on
 * unchanged to the global fetch.
 */
export function recordingFetch() {
  const seen = []
  const f = async (input, init = {}) => {
    const req = new Request(input, init)
    const body = req.method === 'POST' ? await req.clone().text() : ''
    seen.push({ url: req.url, method: req.method, headers: Object.fromEntries(req.headers), body })
    return fetch(input, init)
  }
  f.seen = seen
  f.to = (url) => seen.filter((r) => r.url === url)
  return f
}

/** The form parameters of a recorded request, as [name, value] pairs in order. */
export function form(rec) {
  return [...new URLSearchParams(rec.body)]
}

/** RFC 6749 §2.3.1: client_secret_basic the way idjag builds it (form-urlencode, then base64). */
export function basicAsIdjagSendsIt(id, secret) {
  const enc = (s) => new URLSearchParams({ x: s }).toString().slice(2)
  return 'Basic ' + Buffer.from(`${enc(id)}:${enc(secret)}`).toString('base64')
}

const THIS_FILE = relative(ROOT, join(dirname(fileURLToPath(import.meta.url)), 'ts_sdk.test.mjs'))

/**
 * Appends the interop-matrix line for a passed test (one O_APPEND write). Called only by tests
 * in which the SDK got a token from the testkit AS and a tool call succeeded; a test that pins a
 * refusal records nothing.
 */
export function recordMatrix(testName, server = 'testkit') {
  const file = process.env.IDJAG_MATRIX
  if (!file) return
  const line = JSON.stringify({ client: 'ts-sdk', server, test: `${THIS_FILE}::${testName}` }) + '\n'
  appendFileSync(file, line, { flag: 'a' })
}
