'use strict'
// Replication benchmark peer (hypercore 7.7.1 + hypercore-protocol 6.12.0 over loopback TCP).
//   node replicate.js serve --blocks N --size S
//     -> {"port", "key", "appendSeconds", "appendCpu", "rss"} then serves (non-live) until killed
//   node replicate.js fetch --key HEX --port P [--host H] [--max-requests R] [--storage memory|file --dir D]
//     -> {"seconds", "cpu", "blocks", "bytes", "peakRss"}
// cpu = process.cpuUsage() (user + system, every thread) over the fetch only; peakRss = highest sampled rss.
const net = require('net')
const path = require('path')
const { load, sodiumBackend, arg, cpuSeconds } = require('./resolve')
const hypercore = load('hypercore')
const ram = load('random-access-memory')
const raf = load('random-access-file')

function out (obj) { process.stdout.write(JSON.stringify(obj) + '\n') }

async function serve () {
  const n = Number(arg('blocks')); const size = Number(arg('size'))
  const feed = hypercore(ram)
  await new Promise((resolve, reject) => feed.ready(err => err ? reject(err) : resolve()))
  const block = Buffer.alloc(size, 120)
  const started = process.hrtime.bigint(); const cpu = process.cpuUsage()
  for (let i = 0; i < n; i += 1000) {
    const batch = []
    for (let j = i; j < Math.min(n, i + 1000); j++) batch.push(block)
    await new Promise((resolve, reject) => feed.append(batch, err => err ? reject(err) : resolve()))
  }
  const appendSeconds = Number(process.hrtime.bigint() - started) / 1e9; const appendCpu = cpuSeconds(cpu)
  const server = net.createServer(socket => {
    const stream = feed.replicate({ live: false })
    socket.pipe(stream).pipe(socket)
    socket.on('error', () => {})
    stream.on('error', () => socket.destroy())
  })
  server.listen(0, '127.0.0.1', () => out({
    port: server.address().port, key: feed.key.toString('hex'), appendSeconds, appendCpu,
    rss: process.memoryUsage().rss, sodium: sodiumBackend()
  }))
}

async function fetch () {
  const key = Buffer.from(arg('key'), 'hex')
  const dir = arg('dir')
  const storage = arg('storage', 'memory') === 'file' ? (name) => raf(path.join(dir, name)) : ram
  const maxRequests = arg('max-requests') ? Number(arg('max-requests')) : undefined
  const feed = hypercore(storage, key)
  await new Promise((resolve, reject) => feed.ready(err => err ? reject(err) : resolve()))
  let peak = process.memoryUsage().rss
  const timer = setInterval(() => { peak = Math.max(peak, process.memoryUsage().rss) }, 50)
  const started = process.hrtime.bigint(); const cpu = process.cpuUsage()
  const socket = net.connect(Number(arg('port')), arg('host', '127.0.0.1'))
  const stream = feed.replicate({ live: false, maxRequests })
  socket.pipe(stream).pipe(socket)
  await new Promise((resolve, reject) => {
    stream.on('end', resolve)
    stream.on('error', reject)
  })
  const seconds = Number(process.hrtime.bigint() - started) / 1e9
  const cpuUsed = cpuSeconds(cpu)
  clearInterval(timer)
  peak = Math.max(peak, process.memoryUsage().rss)
  socket.destroy()
  out({ seconds, cpu: cpuUsed, blocks: feed.length, downloaded: feed.downloaded(), bytes: feed.byteLength, peakRss: peak, sodium: sodiumBackend() })
  await new Promise(resolve => feed.close(resolve))
  process.exit(0)
}

const cmd = process.argv[2]
;(cmd === 'serve' ? serve() : fetch()).catch(err => { process.stderr.write(String(err && err.stack || err) + '\n'); process.exit(1) })
