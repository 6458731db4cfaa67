'use strict'
// Clone benchmark peer, JS side: hyperdrive 9.16.0 on random-access-file over loopback TCP.
//   node drive-peer.js serve --dir STORE                 -> {"port", "key"}; serves (non-live) until killed
//   node drive-peer.js fetch --key HEX --port P --dir DST -> {"seconds", "cpu", "blocks", "bytes", "peakRss"}
// cpu = process.cpuUsage() (user + system) over the fetch; peakRss = maxRSS in bytes. The driver reads the
// server's CPU and peak RSS from /proc.
const net = require('net')
const { load, sodiumBackend, arg, cpuSeconds } = require('./resolve')
const hyperdrive = load('hyperdrive')

function out (obj) { process.stdout.write(JSON.stringify(obj) + '\n') }

async function serve () {
  const drive = hyperdrive(arg('dir'))
  await new Promise((resolve, reject) => drive.ready(err => err ? reject(err) : resolve()))
  const server = net.createServer(socket => {
    const stream = drive.replicate({ live: false })
    socket.pipe(stream).pipe(socket)
    socket.on('error', () => {})
    stream.on('error', () => socket.destroy())
  })
  server.listen(0, '127.0.0.1', () => out({ port: server.address().port, key: drive.key.toString('hex'), sodium: sodiumBackend() }))
}

async function fetch () {
  const drive = hyperdrive(arg('dir'), Buffer.from(arg('key'), 'hex'))
  await new Promise((resolve, reject) => drive.ready(err => err ? reject(err) : resolve()))
  let blocks = 0
  const started = process.hrtime.bigint(); const cpu = process.cpuUsage()
  const socket = net.connect(Number(arg('port')), '127.0.0.1')
  const stream = drive.replicate({ live: false })
  drive.on('content', () => drive.content.on('download', () => blocks++))
  socket.pipe(stream).pipe(socket)
  await new Promise((resolve, reject) => {
    stream.on('end', resolve)
    stream.on('error', reject)
  })
  const seconds = Number(process.hrtime.bigint() - started) / 1e9
  const used = cpuSeconds(cpu)
  socket.destroy()
  if (drive.content.downloaded() !== drive.content.length) throw new Error('the clone is incomplete')
  out({ seconds, cpu: used, blocks, bytes: drive.content.byteLength, peakRss: process.resourceUsage().maxRSS * 1024, sodium: sodiumBackend() })
  drive.close(() => process.exit(0))
}

const cmd = process.argv[2]
;(cmd === 'serve' ? serve() : fetch()).catch(err => { process.stderr.write(String(err && err.stack || err) + '\n'); process.exit(1) })
