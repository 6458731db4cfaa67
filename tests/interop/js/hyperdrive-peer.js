'use strict'
/**
 * A hyperdrive 9.16.0 peer over loopback TCP: serves a drive (one archive.replicate() stream per
 * connection) or clones one.
 *
 * usage: node hyperdrive-peer.js (--dir DIR | --memory) [--seed HEX32 | --key HEX32] [--ops JSON]
 *          [--sparse] (--port N [--host H] | --connect HOST:PORT) [--live] [--read P]... [--walk]
 *          [--watch] [--exit-after N] [--timeout-ms N]
 *   --seed     a writable drive (metadata key pair from the seed); --key: a clone of that drive; neither:
 *              DIR's stored drive or a new one.  --ops: operations run first (hyperdrive-common.js).
 *   --port N   listen (0 = any free port); --connect dials (one stream).
 *   --read P   once the stream is up and the metadata is at its remote length: read P and report it.
 *   --walk     report every entry (readdir/stat/sha256) when the clone is done (non-live: when the stream
 *              ended; live: after the reads).
 *   --watch    report every metadata change (history entry; a put's file is read and hashed).
 *   --exit-after N  exit 0 once N connections ended (with --connect: 1).
 * stdout (JSON lines):
 *   {event:"listening"|"connecting", port, key, discoveryKey, contentKey, version}
 *   {event:"peer-open", peer}, {event:"peer-end", peer, error}
 *   {event:"read", path, size, sha256, contentDownloaded}   (contentDownloaded = local content blocks)
 *   {event:"walk", readdir, entries, version, contentDownloaded, contentLength}
 *   {event:"change", type, name, version, size, sha256}     (--watch)
 *   {event:"op-done", version}                              after a stdin "op JSON"
 *   {event:"closed"}
 * stdin: "op JSON" (one operation), "walk", "exit".
 */
const hyperdrive = require('hyperdrive')
const hcrypto = require('hypercore-crypto')
const ram = require('random-access-memory')
const { parse, emit, finish, hexArg, intArg, hostPortArg, onStdinLines, call, UsageError } = require('./lib/cli')
const { join, listen, connect } = require('./lib/net')
const { runOp, walk, sha256 } = require('./hyperdrive-common')

const USAGE = 'hyperdrive-peer.js (--dir DIR | --memory) [--seed HEX32 | --key HEX32] [--ops JSON] [--sparse] (--port N | --connect HOST:PORT) [--live] [--read P]... [--walk] [--watch] [--exit-after N]'

async function main () {
  const { values } = parse({
    dir: { type: 'string' },
    memory: { type: 'boolean' },
    seed: { type: 'string' },
    key: { type: 'string' },
    ops: { type: 'string' },
    sparse: { type: 'boolean' },
    port: { type: 'string' },
    host: { type: 'string' },
    connect: { type: 'string' },
    live: { type: 'boolean' },
    read: { type: 'string', multiple: true },
    walk: { type: 'boolean' },
    watch: { type: 'boolean' },
    'exit-after': { type: 'string' }
  }, { usage: USAGE })
  if (!values.dir === !values.memory) throw new UsageError('give exactly one of --dir DIR or --memory')
  if ((values.port === undefined) === (values.connect === undefined)) throw new UsageError('give exactly one of --port N or --connect HOST:PORT')
  const seed = hexArg(values.seed, '--seed', 32)
  const key = hexArg(values.key, '--key', 32)
  const live = !!values.live
  const exitAfter = intArg(values['exit-after'], '--exit-after', { min: 1 }) || (values.connect ? 1 : 0)
  const storage = values.memory ? (name) => ram() : values.dir
  const opts = { sparse: !!values.sparse }
  let drive
  if (seed) {
    const kp = hcrypto.keyPair(seed)
    drive = hyperdrive(storage, kp.publicKey, Object.assign({ secretKey: kp.secretKey }, opts))
  } else if (key) {
    drive = hyperdrive(storage, key, opts)
  } else {
    drive = hyperdrive(storage, opts)
  }
  await call((cb) => drive.ready(cb))
  for (const op of JSON.parse(values.ops || '[]')) await runOp(drive, op, 1546300800000)

  const downloaded = () => (drive.content ? drive.content.downloaded() : 0)
  async function report () {
    const tree = await walk(drive)
    emit({ event: 'walk', readdir: tree.readdir, entries: tree.entries, version: drive.version, contentDownloaded: downloaded(), contentLength: drive.content ? drive.content.length : null })
  }
  async function readPaths () {
    for (const p of values.read || []) {
      const buf = await call((cb) => drive.readFile(p, cb))
      emit({ event: 'read', path: p, size: buf.length, sha256: sha256(buf), contentDownloaded: downloaded() })
    }
  }

  if (values.watch) {
    let next = Math.max(drive.metadata.length, 1)
    let busy = false
    const onUpdate = async () => {
      if (busy) return
      busy = true
      try {
        while (next < drive.metadata.length) {
          const version = next++
          const node = await call((cb) => drive.tree.checkout(version).head(cb))
          const change = { event: 'change', type: node.value ? 'put' : 'del', name: node.name, version }
          if (node.value) {
            const buf = await call((cb) => drive.checkout(version).readFile(node.name, cb))
            change.size = buf.length
            change.sha256 = sha256(buf)
          }
          emit(change)
        }
      } finally {
        busy = false
      }
    }
    drive.metadata.on('append', onUpdate)
  }

  let peers = 0
  let ended = 0
  let server = null
  async function shutdown (code) {
    if (server) server.close()
    await call((cb) => drive.close(cb)).catch(() => {})
    emit({ event: 'closed' })
    finish(code)
  }

  function start (socket) {
    const peer = peers++
    const stream = drive.replicate({ live })
    emit({ event: 'peer-open', peer })
    if (values.read || (values.walk && live)) {
      // wait for the remote's metadata length, then read (the content feed replicates sparsely if asked)
      drive.metadata.update(() => {
        readPaths().then(() => (values.walk && live ? report() : null)).catch((err) => emit({ event: 'error', error: err.message }))
      })
    }
    join(socket, stream, (err) => {
      emit({ event: 'peer-end', peer, error: err ? err.message : null })
      ended++
      const after = values.walk && !live ? report() : Promise.resolve()
      after.then(() => {
        if (exitAfter && ended >= exitAfter) shutdown(0)
      }).catch((e) => emit({ event: 'error', error: e.message }))
    })
  }

  onStdinLines(async (cmd, rest) => {
    if (cmd === 'op') {
      await runOp(drive, JSON.parse(rest), 1546300800000)
      emit({ event: 'op-done', version: drive.version })
    } else if (cmd === 'walk') {
      await report()
    } else if (cmd === 'exit') {
      await shutdown(0)
    } else {
      throw new Error('unknown command ' + JSON.stringify(cmd))
    }
  })

  const info = {
    key: drive.key.toString('hex'),
    discoveryKey: drive.discoveryKey.toString('hex'),
    contentKey: drive.content ? drive.content.key.toString('hex') : null,
    version: drive.version
  }
  if (values.connect) {
    const { host, port } = hostPortArg(values.connect, '--connect')
    emit(Object.assign({ event: 'connecting', host, port }, info))
    start(await connect(host, port))
  } else {
    server = await listen(values.host || '127.0.0.1', intArg(values.port, '--port'), start)
    emit(Object.assign({ event: 'listening', port: server.address().port }, info))
  }
}

main()
