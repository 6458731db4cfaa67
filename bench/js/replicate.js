'use strict'
// Replication benchmark peer (hypercore 7.7.1 + hypercore-protocol 6.12.0 over loopback TCP).
//   node replicate.js serve --blocks N --size S            -> {"port", "key"} then serves until killed
//   node replicate.js fetch --key HEX --port P [--host H]  -> {"seconds", "blocks", "bytes", "peakRss"}
const net = require('net')
const { load, sodiumBackend } = require('./resolve')
const hypercore = load('hypercore')
const ram = load('random-access-memory')

function arg (name, def) {
  const i = process.argv.indexOf('--' + name)
  return i === -1 ? def : process.argv[i + 1]
}

function out (obj) { process.stdout.write(JSON.stringify(obj) + '\n') }

async function serve () {
  const n = Number(arg('blocks')); const size = Number(arg('size'))
  const feed = hypercore(ram)
  await new Promise((resolve, reject) => feed.ready(err => err ? reject(err) : resolve()))
  const block = Buffer.alloc(size, 120)
  for (let i = 0; i < n; i += 1000) {
    const batch = []
    for (let j = i; j < Math.min(n, i + 1000); j++) batch.push(block)
    await new Promise((resolve, reject) => feed.append(batch, err => err ? reject(err) : resolve()))
  }
  const server = net.createServer(socket => {
    const stream = feed.replicate({ live: false })
    socket.pipe(stream).pipe(socket)
    socket.on('error', () => {})
    stream.on('error', () => socket.destroy())
  })
  server.listen(0, '127.0.0.1', () => out({ port: server.address().port, key: feed.key.toString('hex'), sodium: sodiumBackend() }))
}

async function fetch () {
  const key = Buffer.from(arg('key'), 'hex')
  const feed = hypercore(ram, key)
  await new Promise((resolve, reject) => feed.ready(err => err ? reject(err) : resolve()))
  let peak = process.memoryUsage().rss
  const timer = setInterval(() => { peak = Math.max(peak, process.memoryUsage().rss) }, 50)
  const started = process.hrtime.bigint()
  const socket = net.connect(Number(arg('port')), arg('host', '127.0.0.1'))
  const stream = feed.replicate({ live: false })
  socket.pipe(stream).pipe(socket)
  await new Promise((resolve, reject) => {
    stream.on('end', resolve)
    stream.on('error', reject)
  })
  const seconds = Number(process.hrtime.bigint() - started) / 1e9
  clearInterval(timer)
  peak = Math.max(peak, process.memoryUsage().rss)
  socket.destroy()
  out({ seconds, blocks: feed.length, bytes: feed.byteLength, peakRss: peak, sodium: sodiumBackend() })
}

const cmd = process.argv[2]
;(cmd === 'serve' ? serve() : fetch()).catch(err => { process.stderr.write(String(err && err.stack || err) + '\n'); process.exit(1) })
