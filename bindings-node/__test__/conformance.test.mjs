// The conformance client (tests/conformance/node_client.mjs) against the testkit, whose
// `context` has the shape of the suite's MCP_CONFORMANCE_CONTEXT.
import { test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { Kit, ROOT } from './kit.mjs'

let kit
before(async () => {
  kit = await Kit.start()
})
after(async () => {
  await kit.stop()
})

function client(serverUrl, context) {
  const script = fileURLToPath(new URL('../../tests/conformance/node_client.mjs', import.meta.url))
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [script, serverUrl],
      {
        cwd: ROOT,
        env: { ...process.env, MCP_CONFORMANCE_CONTEXT: JSON.stringify(context), MCP_CONFORMANCE_SCENARIO: 'testkit' },
      },
      (err, stdout, stderr) => resolve({ code: err ? err.code : 0, stdout, stderr }),
    )
  })
}

test('the conformance client lists the testkit tools with one exchange', async () => {
  await kit.reset()
  const r = await client(kit.mcpUrl, kit.context)
  assert.equal(r.code, 0, r.stderr)
  assert.match(r.stdout, /^testkit: 3 tool\(s\): .*whoami/)
  const c = await kit.counters()
  assert.deepEqual([c.idp_token, c.as_token], [1, 1])
})

test('an idjag failure exits 1 with the code, step and action, and no secret', async () => {
  const bad = { ...kit.context, client_secret: 'wrong-secret-value' }
  const r = await client(kit.mcpUrl, bad)
  assert.equal(r.code, 1, r.stderr)
  assert.match(r.stderr, /^idjag error \[oauth_error\/as_grant\/[a-z]+\]/)
  assert.ok(!r.stderr.includes('wrong-secret-value') && !r.stderr.includes(kit.context.idp_id_token))
})
