// TypeScript: a strict consumer of index.d.ts and mcp.d.ts (with the real SDK's types)
// type-checks with `tsc --noEmit`.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { createRequire } from 'node:module'
import { fileURLToPath } from 'node:url'

const require = createRequire(import.meta.url)

test('tsc --noEmit (strict) accepts a consumer of idjag and idjag/mcp', async () => {
  const tsc = require.resolve('typescript/bin/tsc')
  const project = fileURLToPath(new URL('./tsconfig.json', import.meta.url))
  const out = await new Promise((resolve) => {
    execFile(process.execPath, [tsc, '-p', project], (err, stdout, stderr) => resolve({ err, stdout, stderr }))
  })
  assert.equal(out.err, null, `${out.stdout}${out.stderr}`)
})
