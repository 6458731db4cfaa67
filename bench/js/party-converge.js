'use strict'
// Party convergence benchmark, JS side: N multifeed 4.3.0 peers in one process, each with one writer of
// B blocks. Every peer replicates with peer 0 (the hub) over in-process non-live streams, one after the
// other, in two rounds (round 1 gathers every feed at the hub, round 2 spreads them); reports the time until every
// peer holds every writer's B blocks. (A live full mesh does not converge reliably with multifeed 4.3.0:
// feeds learned on two streams at once can stall, so the benchmark uses multifeed's usual hub pattern.)
//   node party-converge.js --peers N --blocks B [--size S]   -> {"seconds", "cpu", "peakRss", "peers", "blocks"}
// cpu: process.cpuUsage() over the convergence only; peakRss: highest sampled rss.
const { load, sodiumBackend, cpuSeconds } = require('./resolve')
const hypercore = load('hypercore')
const multifeed = load('multifeed')
const ram = load('random-access-memory')

function arg (name, def) {
  const i = process.argv.indexOf('--' + name)
  return i === -1 ? def : Number(process.argv[i + 1])
}

const call = (fn) => new Promise((resolve, reject) => fn((err, v) => err ? reject(err) : resolve(v)))

async function main () {
  const n = arg('peers', 10); const blocks = arg('blocks', 1000); const size = arg('size', 64)
  const peers = []
  for (let i = 0; i < n; i++) {
    const m = multifeed(hypercore, ram)
    await call(cb => m.ready(cb))
    const w = await call(cb => m.writer('local', cb))
    const batch = []
    for (let j = 0; j < blocks; j++) batch.push(Buffer.alloc(size, 97 + (j % 26)))
    await call(cb => w.append(batch, cb))
    peers.push(m)
  }
  const total = n * n * blocks
  const done = () => peers.every(m => m.feeds().length === n && m.feeds().every(f => f.length === blocks && f.downloaded(0, blocks) === blocks))
  let peak = process.memoryUsage().rss
  const timer = setInterval(() => { peak = Math.max(peak, process.memoryUsage().rss) }, 50)
  const started = process.hrtime.bigint(); const cpu = process.cpuUsage()
  const sync = (m) => new Promise((resolve, reject) => {
    const a = peers[0].replicate({ live: false })
    const b = m.replicate({ live: false })
    let ended = 0
    const end = () => { if (++ended === 2) resolve() }
    a.on('end', end); b.on('end', end)
    a.on('error', reject); b.on('error', reject)
    a.pipe(b).pipe(a)
  })
  const round = async () => { for (const m of peers.slice(1)) await sync(m) }
  await round()
  await round()
  if (!done()) throw new Error('not converged after two rounds')
  const seconds = Number(process.hrtime.bigint() - started) / 1e9
  const used = cpuSeconds(cpu)
  clearInterval(timer)
  peak = Math.max(peak, process.memoryUsage().rss)
  process.stdout.write(JSON.stringify({ seconds, cpu: used, peakRss: peak, peers: n, blocks, total, sodium: sodiumBackend() }) + '\n')
  process.exit(0)
}

main().catch(err => { process.stderr.write(String(err && err.stack || err) + '\n'); process.exit(1) })
