'use strict'
// hyperdb benchmark, JS side: hyperdb 3.5.0 (its own hypercore 6.26.0) on random-access-memory or
// random-access-file, one writer.
//   node db.js --storage memory|file --dir DIR --count N --value-size S
//   -> {"putSeconds", "getSeconds", "count", "sodium"}
// N awaited put(key, value) calls (keys "k/<i>", i = 0..N-1), then N awaited get(key) calls in a
// shuffled order (a fixed permutation: the same one the Python side uses), each checked.
const path = require('path')
const { load, sodiumBackend } = require('./resolve')
const hyperdb = load('hyperdb')
const ram = load('random-access-memory')
const raf = load('random-access-file')

function arg (name, def) {
  const i = process.argv.indexOf('--' + name)
  return i === -1 ? def : process.argv[i + 1]
}

function order (n) {
  // i * 7919 mod n visits every index when gcd(7919, n) = 1 (7919 is prime)
  const out = new Array(n)
  for (let i = 0; i < n; i++) out[i] = (i * 7919) % n
  return out
}

function call (fn) {
  return new Promise((resolve, reject) => fn((err, value) => (err ? reject(err) : resolve(value))))
}

async function main () {
  const count = Number(arg('count', '100000'))
  const valueSize = Number(arg('value-size', '32'))
  const dir = arg('dir')
  const storage = arg('storage', 'memory') === 'file' ? (name) => raf(path.join(dir, name)) : ram
  const db = hyperdb(storage, { valueEncoding: 'binary' })
  await call(cb => db.ready(cb))
  const value = Buffer.alloc(valueSize, 120)
  let started = process.hrtime.bigint()
  for (let i = 0; i < count; i++) await call(cb => db.put('k/' + i, value, cb))
  const putSeconds = Number(process.hrtime.bigint() - started) / 1e9
  const keys = order(count)
  started = process.hrtime.bigint()
  for (const i of keys) {
    const nodes = await call(cb => db.get('k/' + i, cb))
    if (nodes.length !== 1 || !nodes[0].value.equals(value)) throw new Error('wrong value for k/' + i)
  }
  const getSeconds = Number(process.hrtime.bigint() - started) / 1e9
  process.stdout.write(JSON.stringify({ putSeconds, getSeconds, count, length: db.local.length, sodium: sodiumBackend() }) + '\n')
}

main().catch(err => { process.stderr.write(String(err && err.stack || err) + '\n'); process.exit(1) })
