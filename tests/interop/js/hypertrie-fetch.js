'use strict'
/**
 * Reads a remote hypertrie 3.8.0 db over loopback TCP (db.replicate()).
 *
 * usage: node hypertrie-fetch.js --key HEX32 (--connect HOST:PORT | --port N [--host H])
 *          [--dir DIR | --memory] [--sparse] [--live] [--get KEY]... [--list PREFIX]...
 *          [--watch PREFIX --changes N] [--timeout-ms N]
 *   Without --sparse (and without --live) the whole feed is cloned and the stream ends by itself; then the
 *   gets/lists run locally. With --sparse the script first learns the length (feed.update), then runs the
 *   gets/lists, which download only the blocks their walks touch.
 *   --watch PREFIX --changes N   (live) report each 'change' of db.watch(PREFIX) with the entry
 *                                db.get(PREFIX, {prefix: true}) then finds; done after N changes.
 * stdout (JSON lines):
 *   {event:"updated", length, downloaded}    (--sparse/--live) the length is known
 *   {event:"get", key, entry, downloaded}    entry {key, value(hex), seq} or null; downloaded = blocks
 *                                            downloaded so far
 *   {event:"list", prefix, entries:[...] sorted by key, downloaded}
 *   {event:"change", prefix, entry}
 *   {event:"done", key, length, version, downloaded, entries (non-sparse only), error}
 */
const { parse, emit, fail, finish, hexArg, intArg, hostPortArg, UsageError, call } = require('./lib/cli')
const { openTrie, entryJson, listSorted } = require('./lib/hypertrie')
const { join, listen, connect } = require('./lib/net')

async function main () {
  const { values } = parse({
    key: { type: 'string' },
    connect: { type: 'string' },
    port: { type: 'string' },
    host: { type: 'string' },
    dir: { type: 'string' },
    memory: { type: 'boolean' },
    sparse: { type: 'boolean' },
    live: { type: 'boolean' },
    get: { type: 'string', multiple: true },
    list: { type: 'string', multiple: true },
    watch: { type: 'string' },
    changes: { type: 'string' }
  }, { usage: 'hypertrie-fetch.js --key HEX32 (--connect HOST:PORT | --port N) [--dir DIR] [--sparse] [--live] [--get KEY]... [--list PREFIX]... [--watch PREFIX --changes N]' })
  const key = hexArg(values.key, '--key', 32)
  if (!key) throw new UsageError('--key is required')
  if ((values.port === undefined) === (values.connect === undefined)) throw new UsageError('give exactly one of --port N or --connect HOST:PORT')
  if (values.watch !== undefined && !values.live) throw new UsageError('--watch needs --live')
  const sparse = !!values.sparse
  const live = !!values.live
  const db = await openTrie({ dir: values.dir || null, key, sparse })
  let downloaded = 0
  db.feed.on('download', () => downloaded++)

  let stream = null
  let finished = false

  async function queries () {
    for (const k of values.get || []) emit({ event: 'get', key: k, entry: entryJson(await call((cb) => db.get(k, cb))), downloaded })
    for (const p of values.list || []) emit({ event: 'list', prefix: p, entries: await listSorted(db, p), downloaded })
  }

  async function done (error) {
    if (finished) return
    finished = true
    const out = { event: 'done', key: db.key.toString('hex'), length: db.feed.length, version: db.version, downloaded, error: error ? error.message : null }
    if (!sparse && !error) out.entries = await listSorted(db)
    emit(out)
    if (stream && !stream.destroyed) stream.finalize()
    await call((cb) => db.feed.close(cb)).catch(() => {})
    if (error) fail('replication failed: ' + error.message)
    else setTimeout(() => finish(0), 200)
  }

  function start (socket) {
    stream = db.replicate({ live })
    join(socket, stream, (err) => {
      if (!sparse && !live) queries().then(() => done(err), done)
      else if (!finished) done(err || new Error('connection closed before the queries finished'))
    })
    if (sparse || live) {
      call((cb) => db.feed.update(cb)).then(() => {
        // (hypercore 7.7.1 update() fetches block length-1 WITH its data: _downloadWaiting drops the hash flag)
        emit({ event: 'updated', length: db.feed.length, downloaded })
        return queries()
      }).then(() => {
        if (values.watch === undefined) return done(null)
        const want = intArg(values.changes, '--changes', { min: 1 }) || 1
        let seen = 0
        db.watch(values.watch, () => {
          db.get(values.watch, { prefix: true }, (err, node) => {
            if (err) return done(err)
            emit({ event: 'change', prefix: values.watch, entry: entryJson(node) })
            if (++seen >= want) done(null)
          })
        })
      }).catch(done)
    }
  }

  if (values.connect) {
    const { host, port } = hostPortArg(values.connect, '--connect')
    start(await connect(host, port))
  } else {
    const server = await listen(values.host || '127.0.0.1', intArg(values.port, '--port'), (socket) => {
      server.close()
      start(socket)
    })
    emit({ event: 'listening', port: server.address().port })
  }
}

main()
