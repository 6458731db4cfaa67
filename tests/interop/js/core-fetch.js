'use strict'
/**
 * Downloads a hypercore 7.7.1 feed by key from a peer over loopback TCP (feed.replicate()).
 *
 * usage: node core-fetch.js --key HEX32 (--connect HOST:PORT | --port N [--host H])
 *          [--dir DIR | --memory] [--live] [--sparse --start N --end M] [--expect-length N]
 *          [--id HEX32] [--timeout-ms N]
 *   default storage is memory. Without --expect-length/--sparse the script ends when the replication
 *   stream ends (non-live: by itself once everything is downloaded).
 *   --sparse --start N --end M   sparse feed; only feed.download({start:N, end:M}); when that range is
 *                                local the stream is finalized.
 *   --expect-length N            done once blocks 0..N-1 are all local; then the stream is finalized.
 *   (after a goal is reached the script reports when the connection closes, or 1 s after the EOF.)
 *   --port N                     listen (one connection) instead of dialing.
 * stdout (JSON lines):
 *   {event:"listening", port}                   (--port only)
 *   {event:"handshake", remoteId, remoteLive}
 *   {event:"block", seq, data}                  each downloaded block (data hex)
 *   {event:"done", key, length, byteLength, blocks:[hex|null], downloaded, sha256, error}
 *     blocks = 0..length-1, null where missing; downloaded = count of local blocks; sha256 over the
 *     local blocks concatenated in order. Exit 1 if the stream failed before the goal was reached.
 */
const { parse, emit, fail, finish, hexArg, intArg, hostPortArg, UsageError, call } = require('./lib/cli')
const { openFeed, readBlocks, sha256, hexOrNull, closeFeed } = require('./lib/feeds')
const { join, listen, connect } = require('./lib/net')

const GOAL_GRACE_MS = 1000
const USAGE = 'core-fetch.js --key HEX32 (--connect HOST:PORT | --port N) [--dir DIR | --memory] [--live] [--sparse --start N --end M] [--expect-length N] [--id HEX32] [--timeout-ms N]'

async function main () {
  const { values } = parse({
    key: { type: 'string' },
    connect: { type: 'string' },
    port: { type: 'string' },
    host: { type: 'string' },
    dir: { type: 'string' },
    memory: { type: 'boolean' },
    live: { type: 'boolean' },
    sparse: { type: 'boolean' },
    start: { type: 'string' },
    end: { type: 'string' },
    'expect-length': { type: 'string' },
    id: { type: 'string' }
  }, { usage: USAGE })
  const key = hexArg(values.key, '--key', 32)
  if (!key) throw new UsageError('--key is required')
  if (values.dir && values.memory) throw new UsageError('give at most one of --dir or --memory')
  if ((values.port === undefined) === (values.connect === undefined)) throw new UsageError('give exactly one of --port N or --connect HOST:PORT')
  const sparse = !!values.sparse
  const start = intArg(values.start, '--start')
  const end = intArg(values.end, '--end')
  if (sparse && (start === undefined || end === undefined || end <= start)) throw new UsageError('--sparse needs --start N --end M with M > N')
  if (!sparse && (start !== undefined || end !== undefined)) throw new UsageError('--start/--end need --sparse')
  const expectLength = intArg(values['expect-length'], '--expect-length', { min: 1 })
  const id = hexArg(values.id, '--id', 32)
  const live = !!values.live

  const feed = await openFeed({ dir: values.dir || null, key, sparse })
  feed.on('download', (seq, data) => emit({ event: 'block', seq, data: data.toString('hex') }))

  let stream = null
  let goalReached = false
  let reported = false

  async function report (error) {
    if (reported) return
    reported = true
    const blocks = await readBlocks(feed)
    emit({
      event: 'done',
      key: feed.key.toString('hex'),
      length: feed.length,
      byteLength: feed.byteLength,
      blocks: blocks.map(hexOrNull),
      downloaded: blocks.filter(Boolean).length,
      sha256: sha256(blocks),
      error: error ? error.message : null
    })
    await closeFeed(feed).catch(() => {})
    if (error && !goalReached) fail('replication failed: ' + error.message)
    else finish(0)
  }

  function goal () {
    if (goalReached) return
    goalReached = true
    if (stream && !stream.destroyed) {
      // Graceful end: EOF to the remote, then report once the connection closes — or after a short
      // grace period if the remote keeps its side open.
      stream.finalize()
      setTimeout(() => report(null), GOAL_GRACE_MS)
    } else report(null)
  }

  if (sparse) {
    feed.download({ start, end }, (err) => (err ? report(err) : goal()))
  } else if (expectLength) {
    const check = () => {
      if (!goalReached && feed.length >= expectLength && feed.downloaded(0, expectLength) === expectLength) goal()
    }
    feed.on('download', check)
    feed.on('append', check)
    check()
  }

  function start_ (socket) {
    const opts = { live }
    if (id) opts.id = id
    stream = feed.replicate(opts)
    stream.on('handshake', () => emit({ event: 'handshake', remoteId: stream.remoteId.toString('hex'), remoteLive: stream.remoteLive }))
    join(socket, stream, (err) => report(err))
  }

  if (values.connect) {
    const { host, port } = hostPortArg(values.connect, '--connect')
    start_(await connect(host, port))
  } else {
    const server = await listen(values.host || '127.0.0.1', intArg(values.port, '--port'), (socket) => {
      server.close()
      start_(socket)
    })
    emit({ event: 'listening', port: server.address().port })
  }
}

main()
