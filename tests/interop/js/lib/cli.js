'use strict'
/**
 * Shared command-line plumbing for the interop scripts.
 *
 * Contract every script follows:
 *  - stdout carries JSON lines only: one object per line (`emit`).
 *  - errors go to stderr as one JSON line `{"error": message}` and the process exits != 0:
 *      1 runtime error, 2 bad usage, 3 timeout (--timeout-ms, default 20000), 4 verification failed.
 *  - every script exits by itself: `finish()` ends it, and the timeout ends it at the latest.
 *  - byte strings (keys, blocks, signatures) are lowercase hex.
 */
const { parseArgs } = require('node:util')
const readline = require('node:readline')

const EXIT_ERROR = 1
const EXIT_USAGE = 2
const EXIT_TIMEOUT = 3
const EXIT_VERIFY = 4

const DEFAULT_TIMEOUT_MS = 20000

class UsageError extends Error {}
class VerifyError extends Error {}

let exiting = false

function emit (obj) {
  process.stdout.write(JSON.stringify(obj) + '\n')
}

function fail (message, code = EXIT_ERROR) {
  if (exiting) return
  exiting = true
  process.stderr.write(JSON.stringify({ error: String(message), code }) + '\n')
  if (process.env.HYPERPARTY_JS_DEBUG && message && message.stack) process.stderr.write(message.stack + '\n')
  process.exit(code)
}

/** Ends the process with `code` after stdout has been written out. */
function finish (code = 0) {
  if (exiting) return
  exiting = true
  process.stdout.write('', () => process.exit(code))
}

function errorCode (err) {
  if (err instanceof UsageError) return EXIT_USAGE
  if (err instanceof VerifyError) return EXIT_VERIFY
  return EXIT_ERROR
}

process.on('uncaughtException', (err) => fail(err && err.message ? err.message : err, errorCode(err)))
process.on('unhandledRejection', (err) => fail(err && err.message ? err.message : err, errorCode(err)))
process.stdout.on('error', (err) => {
  // The reader went away (EPIPE): nothing left to report to.
  if (err.code === 'EPIPE') process.exit(EXIT_ERROR)
})

/**
 * Parses argv with node's util.parseArgs. `options` as for parseArgs; `--timeout-ms` is added to
 * every script and armed at once. Returns {values, positionals}.
 */
function parse (options, { allowPositionals = false, usage = '' } = {}) {
  const all = Object.assign({ 'timeout-ms': { type: 'string' }, help: { type: 'boolean' } }, options)
  let parsed
  try {
    parsed = parseArgs({ options: all, allowPositionals, strict: true })
  } catch (err) {
    fail(err.message + (usage ? '\nusage: ' + usage : ''), EXIT_USAGE)
  }
  if (parsed.values.help) {
    process.stderr.write('usage: ' + usage + '\n')
    process.exit(0)
  }
  const timeoutMs = parsed.values['timeout-ms'] === undefined ? DEFAULT_TIMEOUT_MS : intArg(parsed.values['timeout-ms'], '--timeout-ms')
  armTimeout(timeoutMs)
  return parsed
}

function armTimeout (ms) {
  if (ms <= 0) return
  // Kept referenced on purpose: a script waiting on nothing must still end with an error, not silently.
  setTimeout(() => fail(`timeout after ${ms} ms`, EXIT_TIMEOUT), ms)
}

function intArg (value, name, { min = 0 } = {}) {
  if (value === undefined) return undefined
  if (!/^-?\d+$/.test(String(value))) throw new UsageError(`${name} must be an integer, got ${JSON.stringify(value)}`)
  const n = Number(value)
  if (!Number.isSafeInteger(n) || n < min) throw new UsageError(`${name} must be an integer >= ${min}, got ${value}`)
  return n
}

function hexArg (value, name, length = null) {
  if (value === undefined) return undefined
  if (!/^([0-9a-fA-F]{2})*$/.test(value)) throw new UsageError(`${name} must be hex, got ${JSON.stringify(value)}`)
  const buf = Buffer.from(value, 'hex')
  if (length !== null && buf.length !== length) throw new UsageError(`${name} must be ${length} bytes, got ${buf.length}`)
  return buf
}

/**
 * Blocks from either `--blocks-hex a,b,...` (each comma-separated item is one block, an empty item is
 * an empty block) or utf8 items (positionals, or a comma list from an option such as --writer-blocks).
 */
function blocksArg ({ hexList, utf8List }) {
  if (hexList !== undefined && utf8List && utf8List.length) throw new UsageError('give blocks either as hex or as utf8, not both')
  if (hexList !== undefined) return hexList.split(',').map((h, i) => hexArg(h, `block ${i}`))
  return (utf8List || []).map((s) => Buffer.from(s, 'utf8'))
}

function hostPortArg (value, name) {
  const m = /^(.*):(\d+)$/.exec(value || '')
  if (!m) throw new UsageError(`${name} must be HOST:PORT, got ${JSON.stringify(value)}`)
  return { host: m[1] || '127.0.0.1', port: Number(m[2]) }
}

/** Calls `handler(command, rest)` for each stdin line "command rest...". */
function onStdinLines (handler) {
  const rl = readline.createInterface({ input: process.stdin, crlfDelay: Infinity })
  rl.on('line', (line) => {
    if (!line.trim()) return
    const sp = line.indexOf(' ')
    const cmd = sp === -1 ? line.trim() : line.slice(0, sp)
    const rest = sp === -1 ? '' : line.slice(sp + 1)
    Promise.resolve()
      .then(() => handler(cmd, rest))
      .catch((err) => emit({ event: 'command-error', command: cmd, error: err.message }))
  })
  return rl
}

/** Promisifies a node-style call: `call(cb => feed.ready(cb))`. */
function call (fn) {
  return new Promise((resolve, reject) => fn((err, value) => (err ? reject(err) : resolve(value))))
}

module.exports = {
  emit,
  fail,
  finish,
  parse,
  intArg,
  hexArg,
  blocksArg,
  hostPortArg,
  onStdinLines,
  call,
  UsageError,
  VerifyError,
  EXIT_ERROR,
  EXIT_USAGE,
  EXIT_TIMEOUT,
  EXIT_VERIFY
}
