'use strict'
// hyperdb benchmark, JS side: hyperdb 3.5.0 (its own hypercore 6.26.0) on random-access-memory or
// random-access-file.
//   node db.js --storage memory|file --dir DIR --count N [--writers 1|3] [--replicate]
//   -> {"putSeconds", "getSeconds", "putCpu", "getCpu", "replicateSeconds"?, "count", "sodium"}
// seconds: wall time; cpu: process.cpuUsage() (user + system) over the same timed windows.
// Puts: N awaited put("k/<i>", 32-byte value). With 3 writers (the source authorizes two clones, all
// synced) each writes a third of the keys in turn, the writers syncing (non-live db.replicate() sessions,
// not timed) after each turn. Gets: N awaited get("k/<i>") on the source in a fixed shuffled order
// (i * 7919 mod N, the Python side's), each checked. --replicate: the time a fresh peer takes to replicate
// the whole db (every writer) from the source in one non-live session.
const path = require('path')
const { load, sodiumBackend, arg, cpuSeconds } = require('./resolve')
const hyperdb = load('hyperdb')
const ram = load('random-access-memory')
const raf = load('random-access-file')

function order (n) {
  const out = new Array(n)
  for (let i = 0; i < n; i++) out[i] = (i * 7919) % n
  return out
}

function call (fn) {
  return new Promise((resolve, reject) => fn((err, value) => (err ? reject(err) : resolve(value))))
}

function sync (a, b) {
  return new Promise((resolve, reject) => {
    const s1 = a.replicate({ live: false })
    const s2 = b.replicate({ live: false })
    let ended = 0
    const done = () => { if (++ended === 2) resolve() }
    s1.on('error', reject)
    s2.on('error', reject)
    s1.on('end', done)
    s2.on('end', done)
    s1.pipe(s2).pipe(s1)
  })
}

function seconds (started) {
  return Number(process.hrtime.bigint() - started) / 1e9
}

async function main () {
  const count = Number(arg('count', '100000'))
  const writers = Number(arg('writers', '1'))
  const dir = arg('dir')
  const storageFor = (name) => arg('storage', 'memory') === 'file' ? (f) => raf(path.join(dir, name, f)) : ram
  const value = Buffer.alloc(32, 120)
  const a = hyperdb(storageFor('a'), { valueEncoding: 'binary' })
  await call(cb => a.ready(cb))
  const dbs = [a]
  for (let w = 1; w < writers; w++) {
    const db = hyperdb(storageFor('w' + w), a.key, { valueEncoding: 'binary' })
    await call(cb => db.ready(cb))
    await call(cb => a.authorize(db.local.key, cb))
    dbs.push(db)
  }
  for (const db of dbs.slice(1)) await sync(a, db)
  let putSeconds = 0; let putCpu = 0
  const per = Math.ceil(count / writers)
  for (let w = 0; w < writers; w++) {
    const db = dbs[w]
    const started = process.hrtime.bigint(); const cpu = process.cpuUsage()
    for (let i = w * per; i < Math.min(count, (w + 1) * per); i++) await call(cb => db.put('k/' + i, value, cb))
    putSeconds += seconds(started); putCpu += cpuSeconds(cpu)
    for (const other of dbs) if (other !== db) await sync(db, other)
  }
  const keys = order(count)
  let started = process.hrtime.bigint(); const cpu = process.cpuUsage()
  for (const i of keys) {
    const nodes = await call(cb => a.get('k/' + i, cb))
    if (nodes.length !== 1 || !nodes[0].value.equals(value)) throw new Error('wrong value for k/' + i)
  }
  const getSeconds = seconds(started); const getCpu = cpuSeconds(cpu)
  const out = { putSeconds, getSeconds, putCpu, getCpu, count, writers, sodium: sodiumBackend() }
  if (process.argv.includes('--replicate')) {
    const fresh = hyperdb(storageFor('fresh'), a.key, { valueEncoding: 'binary' })
    await call(cb => fresh.ready(cb))
    started = process.hrtime.bigint()
    await sync(a, fresh)
    out.replicateSeconds = seconds(started)
    const nodes = await call(cb => fresh.get('k/' + (count - 1), cb))
    if (nodes.length !== 1) throw new Error('the replica is incomplete')
  }
  process.stdout.write(JSON.stringify(out) + '\n')
}

main().catch(err => { process.stderr.write(String(err && err.stack || err) + '\n'); process.exit(1) })
