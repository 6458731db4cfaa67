'use strict'
/**
 * Serves (replicates) a hypertrie 3.8.0 db over loopback TCP, one db.replicate() stream per connection.
 *
 * usage: node hypertrie-serve.js (--dir DIR | --memory) [--seed HEX32 | --key HEX32] [--fill N]
 *          [--batch-size B] (--port N [--host H] | --connect HOST:PORT) [--live] [--exit-after N]
 *          [--timeout-ms N]
 *   --seed        writer key pair (else the stored db, or --key for a stored replica)
 *   --fill N      put N generated entries (lib/hypertrie.js `generated`) before serving
 *   --exit-after  exit 0 once N connections have ended (default: keep serving; with --connect: 1)
 * stdout (JSON lines):
 *   {event:"listening"|"connecting", port, key, discoveryKey, length, version}
 *   {event:"peer-open", peer}  {event:"peer-end", peer, error}  {event:"upload", seq}
 *   {event:"put", key, seq}  {event:"del", key, seq}            after each stdin command
 *   {event:"closed"}
 * stdin commands: "put KEY VALUE" (value utf8, key without spaces), "del KEY", "exit".
 */
const { parse, emit, finish, hexArg, intArg, hostPortArg, onStdinLines, UsageError, call } = require('./lib/cli')
const { openTrie, fill } = require('./lib/hypertrie')
const { join, listen, connect } = require('./lib/net')

const USAGE = 'hypertrie-serve.js (--dir DIR | --memory) [--seed HEX32 | --key HEX32] [--fill N] [--batch-size B] (--port N | --connect HOST:PORT) [--live] [--exit-after N]'

async function main () {
  const { values } = parse({
    dir: { type: 'string' },
    memory: { type: 'boolean' },
    seed: { type: 'string' },
    key: { type: 'string' },
    fill: { type: 'string' },
    'batch-size': { type: 'string' },
    port: { type: 'string' },
    host: { type: 'string' },
    connect: { type: 'string' },
    live: { type: 'boolean' },
    'exit-after': { type: 'string' }
  }, { usage: USAGE })
  if (!values.dir === !values.memory) throw new UsageError('give exactly one of --dir DIR or --memory')
  if ((values.port === undefined) === (values.connect === undefined)) throw new UsageError('give exactly one of --port N or --connect HOST:PORT')
  const db = await openTrie({ dir: values.dir || null, seed: hexArg(values.seed, '--seed', 32), key: hexArg(values.key, '--key', 32) })
  const n = intArg(values.fill, '--fill') || 0
  if (n) await fill(db, 0, n, intArg(values['batch-size'], '--batch-size', { min: 1 }) || 500)
  const exitAfter = intArg(values['exit-after'], '--exit-after', { min: 1 }) || (values.connect ? 1 : 0)
  const live = !!values.live

  let peers = 0
  let ended = 0
  let server = null

  async function shutdown (code) {
    if (server) server.close()
    await call((cb) => db.feed.close(cb)).catch(() => {})
    emit({ event: 'closed' })
    finish(code)
  }

  function start (socket) {
    const peer = peers++
    emit({ event: 'peer-open', peer })
    join(socket, db.replicate({ live }), (err) => {
      emit({ event: 'peer-end', peer, error: err ? err.message : null })
      if (exitAfter && ++ended >= exitAfter) shutdown(0)
    })
  }

  db.feed.on('upload', (seq) => emit({ event: 'upload', seq }))

  onStdinLines(async (cmd, rest) => {
    if (cmd === 'put') {
      const sp = rest.indexOf(' ')
      const key = sp === -1 ? rest : rest.slice(0, sp)
      const node = await call((cb) => db.put(key, Buffer.from(sp === -1 ? '' : rest.slice(sp + 1), 'utf8'), cb))
      emit({ event: 'put', key: node.key, seq: node.seq })
    } else if (cmd === 'del') {
      const node = await call((cb) => db.del(rest.trim(), cb))
      emit({ event: 'del', key: rest.trim(), seq: node ? node.seq : null })
    } else if (cmd === 'exit') {
      await shutdown(0)
    } else {
      throw new Error('unknown command ' + JSON.stringify(cmd))
    }
  })

  const info = { key: db.key.toString('hex'), discoveryKey: db.discoveryKey.toString('hex'), length: db.feed.length, version: db.version }
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
