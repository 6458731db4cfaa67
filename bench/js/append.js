'use strict'
// Append benchmark, JS side: hypercore 7.7.1 on random-access-memory or random-access-file.
//   node append.js --storage memory|file --dir DIR --size S --count N --batch B  -> {"seconds", "cpu", "blocks", "bytes"}
// batch 1 = N awaited single appends; batch B > 1 = N/B appends of B blocks each.
const path = require('path')
const { load, sodiumBackend, arg, cpuSeconds } = require('./resolve')
const hypercore = load('hypercore')
const ram = load('random-access-memory')
const raf = load('random-access-file')

async function main () {
  const size = Number(arg('size')); const count = Number(arg('count')); const batch = Number(arg('batch', '1'))
  const storage = arg('storage', 'memory') === 'file' ? (name) => raf(path.join(arg('dir'), name)) : ram
  const feed = hypercore(storage)
  await new Promise((resolve, reject) => feed.ready(err => err ? reject(err) : resolve()))
  const block = Buffer.alloc(size, 120)
  const blocks = new Array(batch).fill(block)
  const started = process.hrtime.bigint(); const cpu = process.cpuUsage()
  for (let i = 0; i < count; i += batch) {
    await new Promise((resolve, reject) => feed.append(batch === 1 ? block : blocks, err => err ? reject(err) : resolve()))
  }
  const seconds = Number(process.hrtime.bigint() - started) / 1e9
  const used = cpuSeconds(cpu)
  await new Promise(resolve => feed.close(resolve))
  process.stdout.write(JSON.stringify({ seconds, cpu: used, blocks: feed.length, bytes: feed.byteLength, sodium: sodiumBackend() }) + '\n')
}

main().catch(err => { process.stderr.write(String(err && err.stack || err) + '\n'); process.exit(1) })
