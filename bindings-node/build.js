#!/usr/bin/env node
'use strict'
// Builds the native addon from this repository's sources with cargo (no npm tool needed):
//   node build.js               build (profile release-node: LTO, stripped) and install it here
//   node build.js --if-missing  the package's `install` script: do nothing when a binary for
//                               this platform is already there (a local build, or a prebuilt
//                               per-platform package such as `idjag-linux-x64-gnu`)
//   node build.js --profile dev a faster unoptimised build
// The binary lands next to index.js as `idjag.<platform>.node`, where the napi-rs loader
// (index.js) looks first.
const { execFileSync } = require('node:child_process')
const { copyFileSync, existsSync, renameSync } = require('node:fs')
const { join } = require('node:path')

function platformSuffix() {
  const { platform, arch } = process
  if (platform === 'linux') {
    const musl = !process.report?.getReport?.().header?.glibcVersionRuntime
    return `linux-${arch}-${musl ? 'musl' : 'gnu'}`
  }
  if (platform === 'win32') return `win32-${arch}-msvc`
  return `${platform}-${arch}`
}

function libraryName() {
  if (process.platform === 'win32') return 'idjag_node.dll'
  if (process.platform === 'darwin') return 'libidjag_node.dylib'
  return 'libidjag_node.so'
}

function main(argv) {
  const suffix = platformSuffix()
  const dest = join(__dirname, `idjag.${suffix}.node`)
  if (argv.includes('--if-missing')) {
    if (existsSync(dest)) return
    try {
      require.resolve(`idjag-${suffix}`)
      return
    } catch {
      // no prebuilt package: build from source below
    }
  }
  const i = argv.indexOf('--profile')
  const profile = i >= 0 ? argv[i + 1] : 'release-node'
  const manifest = join(__dirname, 'Cargo.toml')
  if (!existsSync(join(__dirname, 'src', 'lib.rs'))) {
    throw new Error(`idjag: no prebuilt binary for ${suffix} and no Rust sources to build one`)
  }
  const cargo = process.env.CARGO || 'cargo'
  const run = (args, opts = {}) => execFileSync(cargo, args, { cwd: __dirname, ...opts })
  let targetDir
  try {
    const meta = JSON.parse(run(['metadata', '--format-version', '1', '--no-deps', '--manifest-path', manifest], {
      stdio: ['ignore', 'pipe', 'inherit'],
    }))
    targetDir = meta.target_directory
  } catch (e) {
    throw new Error(`idjag: building the native addon needs a Rust toolchain (cargo): ${e.message}`)
  }
  // An explicit `--target` (the host), as `napi build` passes: both then share one build.
  const host = /^host: (.+)$/m.exec(execFileSync(process.env.RUSTC || 'rustc', ['-vV'], { encoding: 'utf8' }))
  if (!host) throw new Error('idjag: cannot tell the host target from `rustc -vV`')
  const target = host[1].trim()
  process.stderr.write(`idjag: cargo build -p idjag-node --profile ${profile} --target ${target}\n`)
  run(['build', '--locked', '-p', 'idjag-node', '--profile', profile, '--target', target, '--manifest-path', manifest], {
    stdio: ['ignore', 'inherit', 'inherit'],
  })
  const dir = profile === 'dev' ? 'debug' : profile
  const built = join(targetDir, target, dir, libraryName())
  // Copy then rename, so a running process never loads a half-written file.
  copyFileSync(built, `${dest}.tmp`)
  renameSync(`${dest}.tmp`, dest)
  process.stderr.write(`idjag: installed ${dest}\n`)
}

try {
  main(process.argv.slice(2))
} catch (e) {
  process.stderr.write(`${e.message}\n`)
  process.exit(1)
}
