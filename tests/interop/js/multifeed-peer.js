'use strict'
/**
 * A real multifeed 4.3.0 peer (hypercore 7.7.1) over loopback TCP.
 *
 * usage: node multifeed-peer.js (--port N [--host H] | --connect HOST:PORT) [--dir DIR | --memory]
 *          [--writer-blocks a,b,... | --writer-blocks-hex H1,H2,...] [--writer-seed HEX32]
 *          [--writer-name NAME] [--encryption-key HEX32] [--live] [--id HEX32]
 *          [--exit-after N] [--expect-blocks N] [--timeout-ms N]
 *   --writer-blocks   create the writer NAME (default "local") and append these utf8 blocks (one
 *                     append each); an existing writer in DIR is reused.
 *   --writer-seed     the writer's key pair comes from this seed (crypto_sign_keypair is swapped
 *                     for crypto_sign_seed_keypair for that one call; otherwise random).
 *   --port            listen; it ends after --exit-after N streams ended (default 1 non-live, never
 *                     live); with --connect it ends when its one stream ended.
 *   --expect-blocks N done once the feeds hold N blocks in total (all feeds, local blocks only);
 *                     then every stream is finalized.
 * stdout (JSON lines):
 *   {event:"ready", writer: key|null, feeds:[key...]}
 *   {event:"listening", port} | {event:"connected", host, port}
 *   {event:"feed", key, name}          a feed was added (local writer or learned from a remote)
 *   {event:"block", feed, seq, data}   a block was downloaded
 *   {event:"appended", seq, length}    after a stdin append
 *   {event:"peer-end", peer, error}
 *   {event:"done", feeds:[{key, name, length, blocks:[hex|null]}]}   feeds in multi.feeds() order
 * stdin (live use): "append TEXT" (to the writer; created if missing), "state" (prints a "done"-shaped
 *   {event:"state", feeds}), "exit" (prints done and exits).
 */
const sodium = require('sodium-universal')
const hypercore = require('hypercore')
const multifeed = require('multifeed')
const ram = require('random-access-memory')
const { parse, emit, fail, finish, hexArg, intArg, hostPortArg, onStdinLines, call, UsageError } = require('./lib/cli')
const { append, readBlocks, hexOrNull } = require('./lib/feeds')
const { join, listen, connect } = require('./lib/net')

const USAGE = 'multifeed-peer.js (--port N | --connect HOST:PORT) [--dir DIR | --memory] [--writer-blocks a,b | --writer-blocks-hex H,..] [--writer-seed HEX32] [--writer-name NAME] [--encryption-key HEX32] [--live] [--id HEX32] [--exit-after N] [--expect-blocks N] [--timeout-ms N]'

/** Makes the next crypto_sign_keypair call derive the pair from `seed` (one shot). */
function seedNextKeyPair (seed) {
  const original = sodium.crypto_sign_keypair
  sodium.crypto_sign_keypair = function (pk, sk) {
    sodium.crypto_sign_keypair = original
    return sodium.crypto_sign_seed_keypair(pk, sk, seed)
  }
  return () => { sodium.crypto_sign_keypair = original }
}

async function main () {
  const { values } = parse({
    port: { type: 'string' },
    host: { type: 'string' },
    connect: { type: 'string' },
    dir: { type: 'string' },
    memory: { type: 'boolean' },
    'writer-blocks': { type: 'string' },
    'writer-blocks-hex': { type: 'string' },
    'writer-seed': { type: 'string' },
    'writer-name': { type: 'string' },
    'encryption-key': { type: 'string' },
    live: { type: 'boolean' },
    id: { type: 'string' },
    'exit-after': { type: 'string' },
    'expect-blocks': { type: 'string' }
  }, { usage: USAGE })
  if ((values.port === undefined) === (values.connect === undefined)) throw new UsageError('give exactly one of --port N or --connect HOST:PORT')
  if (values.dir && values.memory) throw new UsageError('give at most one of --dir or --memory')
  if (values['writer-blocks'] !== undefined && values['writer-blocks-hex'] !== undefined) throw new UsageError('give writer blocks as utf8 or as hex, not both')
  const writerSeed = hexArg(values['writer-seed'], '--writer-seed', 32)
  const encryptionKey = hexArg(values['encryption-key'], '--encryption-key', 32)
  const id = hexArg(values.id, '--id', 32)
  const live = !!values.live
  const exitAfter = intArg(values['exit-after'], '--exit-after', { min: 1 }) || (live && !values.connect ? 0 : 1)
  const expectBlocks = intArg(values['expect-blocks'], '--expect-blocks', { min: 1 })
  const writerName = values['writer-name'] || 'local'
  let writerBlocks = null
  if (values['writer-blocks'] !== undefined) writerBlocks = values['writer-blocks'].split(',').map((s) => Buffer.from(s, 'utf8'))
  if (values['writer-blocks-hex'] !== undefined) writerBlocks = values['writer-blocks-hex'].split(',').map((h, i) => hexArg(h, `writer block ${i}`))

  const opts = {}
  if (encryptionKey) opts.encryptionKey = encryptionKey
  const multi = multifeed(hypercore, values.dir || ((name) => ram()), opts)
  multi.on('error', (err) => fail('multifeed: ' + err.message))

  let doneReported = false
  async function feedsState () {
    const names = new Map(Object.entries(multi._feeds).map(([name, f]) => [f, name]))
    const out = []
    for (const f of multi.feeds()) out.push({ key: f.key.toString('hex'), name: names.get(f), length: f.length, blocks: (await readBlocks(f)).map(hexOrNull) })
    return out
  }
  async function done () {
    if (doneReported) return
    doneReported = true
    emit({ event: 'done', feeds: await feedsState() })
    finish(0)
  }

  function checkExpected () {
    if (!expectBlocks || doneReported) return
    let total = 0
    for (const f of multi.feeds()) total += f.downloaded(0, f.length)
    if (total >= expectBlocks) {
      for (const s of streams) if (!s.destroyed) s.finalize()
      done()
    }
  }

  const watched = new Set()
  function watch (feed, name) {
    if (watched.has(feed)) return
    watched.add(feed)
    emit({ event: 'feed', key: feed.key.toString('hex'), name })
    feed.on('download', (seq, data) => {
      emit({ event: 'block', feed: feed.key.toString('hex'), seq, data: data.toString('hex') })
      checkExpected()
    })
    feed.on('append', checkExpected)
  }
  multi.on('feed', (feed, name) => watch(feed, name))
  await call((cb) => multi.ready(cb))
  for (const [name, f] of Object.entries(multi._feeds)) watch(f, name)

  let writer = null
  async function getWriter () {
    if (writer) return writer
    const restore = writerSeed && !multi._feeds[writerName] ? seedNextKeyPair(writerSeed) : () => {}
    try {
      writer = await call((cb) => multi.writer(writerName, cb))
    } finally {
      restore()
    }
    if (writerSeed && !writer.key.equals(hypercoreKeyFromSeed(writerSeed))) throw new Error('stored writer ' + writerName + ' does not match --writer-seed')
    return writer
  }
  if (writerBlocks) {
    const w = await getWriter()
    for (const b of writerBlocks) await append(w, b)
  }
  emit({ event: 'ready', writer: writer ? writer.key.toString('hex') : null, feeds: multi.feeds().map((f) => f.key.toString('hex')) })

  const streams = []
  let ended = 0
  let conns = 0
  let server = null
  function start (socket) {
    const peer = conns++
    const ropts = { live }
    if (id) ropts.id = id
    const stream = multi.replicate(ropts)
    streams.push(stream)
    join(socket, stream, (err) => {
      emit({ event: 'peer-end', peer, error: err ? err.message : null })
      ended++
      if (exitAfter && ended >= exitAfter) {
        if (server) server.close()
        done()
      }
    })
  }

  onStdinLines(async (cmd, rest) => {
    if (cmd === 'append') {
      const w = await getWriter()
      const seq = await append(w, Buffer.from(rest, 'utf8'))
      emit({ event: 'appended', seq, length: w.length, key: w.key.toString('hex') })
    } else if (cmd === 'state') {
      emit({ event: 'state', feeds: await feedsState() })
    } else if (cmd === 'exit') {
      for (const s of streams) if (!s.destroyed) s.finalize()
      await done()
    } else {
      throw new Error('unknown command ' + JSON.stringify(cmd))
    }
  })

  if (values.connect) {
    const { host, port } = hostPortArg(values.connect, '--connect')
    const socket = await connect(host, port)
    emit({ event: 'connected', host, port })
    start(socket)
  } else {
    server = await listen(values.host || '127.0.0.1', intArg(values.port, '--port'), start)
    emit({ event: 'listening', port: server.address().port })
  }
  checkExpected()
}

function hypercoreKeyFromSeed (seed) {
  const pk = Buffer.alloc(32)
  const sk = Buffer.alloc(64)
  sodium.crypto_sign_seed_keypair(pk, sk, seed)
  return pk
}

main()
