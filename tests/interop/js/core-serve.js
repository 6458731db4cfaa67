'use strict'
/**
 * Serves (replicates) one hypercore 7.7.1 feed over loopback TCP, one feed.replicate() stream per
 * connection.
 *
 * usage: node core-serve.js (--dir DIR | --memory) [--seed HEX32] [--key HEX32] [--batch]
 *          [--blocks-hex H1,H2,... | BLOCK ...] [--port N [--host H] | --connect HOST:PORT]
 *          [--live] [--id HEX32] [--exit-after N] [--timeout-ms N]
 *   --seed / --key  key pair from a seed, or a read-only key (serving a stored replica); with neither,
 *                   DIR's stored feed or a new random key pair.
 *   BLOCK ...       appended at start (one call each, or one batch with --batch).
 *   --port N        listen on 127.0.0.1:N (0 = any free port); --connect dials instead (one stream).
 *   --exit-after N  exit 0 once N connections have ended (default: keep serving; with --connect: 1).
 * stdout (JSON lines):
 *   {event:"listening", port, key, discoveryKey, length, byteLength}   (or event "connecting" with --connect)
 *   {event:"peer-open", peer}                     a connection started (peer = connection number)
 *   {event:"handshake", peer, remoteId, remoteLive}
 *   {event:"upload", peer?, seq}                  a block was sent
 *   {event:"appended", seq, length, byteLength}   after each stdin append
 *   {event:"peer-end", peer, error}               a connection ended (error = message or null)
 *   {event:"closed"}                              before a graceful exit
 * stdin commands: "append TEXT" (utf8), "append-hex HEX", "exit".
 */
const { parse, emit, finish, hexArg, intArg, blocksArg, hostPortArg, onStdinLines, UsageError } = require('./lib/cli')
const { openFeed, append, closeFeed } = require('./lib/feeds')
const { join, listen, connect } = require('./lib/net')

const USAGE = 'core-serve.js (--dir DIR | --memory) [--seed HEX32] [--key HEX32] [--batch] [--blocks-hex ...|BLOCK ...] [--port N [--host H] | --connect HOST:PORT] [--live] [--id HEX32] [--exit-after N] [--timeout-ms N]'

async function main () {
  const { values, positionals } = parse({
    dir: { type: 'string' },
    memory: { type: 'boolean' },
    seed: { type: 'string' },
    key: { type: 'string' },
    batch: { type: 'boolean' },
    'blocks-hex': { type: 'string' },
    port: { type: 'string' },
    host: { type: 'string' },
    connect: { type: 'string' },
    live: { type: 'boolean' },
    id: { type: 'string' },
    'exit-after': { type: 'string' }
  }, { allowPositionals: true, usage: USAGE })
  if (!values.dir === !values.memory) throw new UsageError('give exactly one of --dir DIR or --memory')
  if ((values.port === undefined) === (values.connect === undefined)) throw new UsageError('give exactly one of --port N or --connect HOST:PORT')
  const seed = hexArg(values.seed, '--seed', 32)
  const key = hexArg(values.key, '--key', 32)
  const id = hexArg(values.id, '--id', 32)
  const exitAfter = intArg(values['exit-after'], '--exit-after', { min: 1 }) || (values.connect ? 1 : 0)
  const blocks = blocksArg({ hexList: values['blocks-hex'], utf8List: positionals })
  const live = !!values.live

  const feed = await openFeed({ dir: values.dir || null, seed, key })
  if (blocks.length) {
    if (!feed.writable) throw new Error('cannot append: the feed is not writable')
    if (values.batch) await append(feed, blocks)
    else for (const b of blocks) await append(feed, b)
  }

  let peers = 0
  let ended = 0
  let server = null

  async function shutdown (code) {
    if (server) server.close()
    await closeFeed(feed).catch(() => {})
    emit({ event: 'closed' })
    finish(code)
  }

  function start (socket) {
    const peer = peers++
    const opts = { live }
    if (id) opts.id = id
    const stream = feed.replicate(opts)
    emit({ event: 'peer-open', peer })
    stream.on('handshake', () => emit({ event: 'handshake', peer, remoteId: stream.remoteId.toString('hex'), remoteLive: stream.remoteLive }))
    join(socket, stream, (err) => {
      emit({ event: 'peer-end', peer, error: err ? err.message : null })
      ended++
      if (exitAfter && ended >= exitAfter) shutdown(0)
    })
  }

  feed.on('upload', (seq) => emit({ event: 'upload', seq }))

  onStdinLines(async (cmd, rest) => {
    if (cmd === 'append' || cmd === 'append-hex') {
      const data = cmd === 'append' ? Buffer.from(rest, 'utf8') : hexArg(rest.trim(), 'append-hex')
      const seq = await append(feed, data)
      emit({ event: 'appended', seq, length: feed.length, byteLength: feed.byteLength })
    } else if (cmd === 'exit') {
      await shutdown(0)
    } else {
      throw new Error('unknown command ' + JSON.stringify(cmd))
    }
  })

  const info = { key: feed.key.toString('hex'), discoveryKey: feed.discoveryKey.toString('hex'), length: feed.length, byteLength: feed.byteLength }
  if (values.connect) {
    const { host, port } = hostPortArg(values.connect, '--connect')
    emit(Object.assign({ event: 'connecting', host, port }, info))
    start(await connect(host, port))
  } else {
    const host = values.host || '127.0.0.1'
    server = await listen(host, intArg(values.port, '--port'), start)
    emit(Object.assign({ event: 'listening', host, port: server.address().port }, info))
  }
}

main()
