'use strict'
// hypertrie 3.8.0 benchmark, JS side (bench/trie.py runs it beside Python).
//   node trie.js local --storage memory|file --dir DIR --count N
//       N awaited single puts of generated keys, then N gets (a fixed permutation)
//       -> {"putSeconds", "getSeconds", "putCpu", "getCpu", "length", "sodium"} (seconds: wall, cpu: process CPU
//          time); exit 3 when stalled (see watchdog)
//   node trie.js serve --count N          build N keys (batches of 1000) in memory, serve on 127.0.0.1
//       -> {"port", "key", "length"} then serves until killed
//   node trie.js fetch --key HEX --port P --count N --gets G
//       sparse reader: learn the length, then G gets of keys spread over the trie
//       -> {"seconds", "blocks", "found", "sodium"}   (blocks = data blocks downloaded by the gets)
const net = require('net')
const path = require('path')
const { load, sodiumBackend, arg, cpuSeconds } = require('./resolve')
const hypertrie = load('hypertrie')
const ram = load('random-access-memory')
const raf = load('random-access-file')

// the keys and lookup order bench/trie.py uses too
function key (i) { return `bench/${i % 100}/${i}` }
function value (i) { return Buffer.from(`value ${i}`) }
function lookup (j, n) { return (j * 7919) % n }

function p (fn) { return new Promise((resolve, reject) => fn((err, v) => err ? reject(err) : resolve(v))) }

// A run that makes no progress for --stall-seconds (default 120) ends with exit code 3 instead of hanging:
// hypertrie on random-access-file has been seen to stop calling back under heavy machine load.
let progress = Date.now()
function watchdog (what) {
  const limit = Number(arg('stall-seconds', '120')) * 1000
  const timer = setInterval(() => {
    if (Date.now() - progress > limit) {
      process.stderr.write(`stalled: no progress for ${limit / 1000} s during ${what()}\n`)
      process.exit(3)
    }
  }, 1000)
  timer.unref()
}

function out (obj) { process.stdout.write(JSON.stringify(Object.assign(obj, { sodium: sodiumBackend() })) + '\n') }

async function local () {
  const n = Number(arg('count'))
  const storage = arg('storage', 'memory') === 'file' ? (name) => raf(path.join(arg('dir'), name)) : ram
  const db = hypertrie(storage)
  await p(cb => db.ready(cb))
  let phase = 'puts'
  watchdog(() => `${phase} at length ${db.feed.length}`)
  let t = process.hrtime.bigint()
  let cpu = process.cpuUsage()
  for (let i = 0; i < n; i++) {
    await p(cb => db.put(key(i), value(i), cb))
    progress = Date.now()
  }
  phase = 'gets'
  const putSeconds = Number(process.hrtime.bigint() - t) / 1e9
  const putCpu = cpuSeconds(cpu)
  t = process.hrtime.bigint()
  cpu = process.cpuUsage()
  for (let j = 0; j < n; j++) {
    const i = lookup(j, n)
    const node = await p(cb => db.get(key(i), cb))
    if (!node || !node.value.equals(value(i))) throw new Error('wrong value for ' + key(i))
    progress = Date.now()
  }
  const getSeconds = Number(process.hrtime.bigint() - t) / 1e9
  const getCpu = cpuSeconds(cpu)
  out({ putSeconds, getSeconds, putCpu, getCpu, length: db.feed.length })
  await p(cb => db.feed.close(cb))
}

async function build (db, n) {
  for (let i = 0; i < n; i += 1000) {
    const ops = []
    for (let k = i; k < Math.min(n, i + 1000); k++) ops.push({ type: 'put', key: key(k), value: value(k) })
    await p(cb => db.batch(ops, cb))
  }
}

async function serve () {
  const db = hypertrie(ram)
  await p(cb => db.ready(cb))
  await build(db, Number(arg('count')))
  const server = net.createServer(socket => {
    const stream = db.replicate({ live: true })
    socket.pipe(stream).pipe(socket)
    socket.on('error', () => stream.destroy())
    stream.on('error', () => socket.destroy())
  })
  server.listen(0, '127.0.0.1', () => out({ port: server.address().port, key: db.key.toString('hex'), length: db.feed.length }))
}

async function fetch () {
  const n = Number(arg('count'))
  const gets = Number(arg('gets'))
  const db = hypertrie(ram, Buffer.from(arg('key'), 'hex'), { sparse: true })
  await p(cb => db.ready(cb))
  let blocks = 0
  db.feed.on('download', () => blocks++)
  const socket = net.connect(Number(arg('port')), '127.0.0.1')
  const stream = db.replicate({ live: true })
  socket.pipe(stream).pipe(socket)
  await p(cb => db.feed.update(cb))
  const before = blocks // update() downloads block length-1 with its data in hypercore 7.7.1
  const t = process.hrtime.bigint()
  let found = 0
  for (let j = 0; j < gets; j++) {
    const i = lookup(j * Math.floor(n / gets) + 1, n)
    const node = await p(cb => db.get(key(i), cb))
    if (node && node.value.equals(value(i))) found++
  }
  const seconds = Number(process.hrtime.bigint() - t) / 1e9
  out({ seconds, blocks: blocks - before, found })
  stream.destroy()
  socket.destroy()
}

const modes = { local, serve, fetch }
const mode = modes[process.argv[2]]
if (!mode) {
  process.stderr.write('usage: node trie.js local|serve|fetch ...\n')
  process.exit(2)
}
mode().catch(err => { process.stderr.write(String(err && err.stack || err) + '\n'); process.exit(1) })
