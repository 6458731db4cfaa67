'use strict'
/**
 * A JS party peer (lib/party.js, "two writers" rules) over loopback TCP.
 *
 * usage: node party-peer.js --party HEX32 (--port N [--host H] | --connect HOST:PORT)
 *          [--seed HEX32] [--dir DIR | --memory] [--blocks-hex H1,... | BLOCK ...] [--id HEX32]
 *          [--name NAME] [--non-live] [--transaction-timeout-ms N] [--exit-after N] [--timeout-ms N]
 *   --seed      key pair of the local writable feed (default random).
 *   --dir DIR   local feed in DIR/local, readers in DIR/<hex key>; default memory.
 *   BLOCK ...   utf8 blocks appended to the local feed before connecting (or --blocks-hex).
 *   --name      transaction ids "<name>-tx-<n>" (default: 12 random bytes, hex).
 *   --port N    listen (any number of connections); --connect dials one.
 *   exit: with --connect, once that connection ended; with --port, once --exit-after N connections
 *   ended (default: never); both print a final {event:"done", feeds} first. --non-live streams end by
 *   themselves when every replicated feed is done.
 * stdout (JSON lines):
 *   {event:"ready", key, discoveryKey, length, partyKey, partyDiscoveryKey}
 *   {event:"listening", port} | {event:"connected", host, port}
 *   {event:"handshake", peer, remoteId, remoteUserData, remoteLive}
 *   {event:"party-handshake", peer}            the local feed was introduced and is replicating
 *   {event:"replicating", peer, key}           a feed was put on the stream
 *   {event:"introduce-feeds", peer, id, keys}  the remote introduced feeds (we answer keys: [])
 *   {event:"introduce-feeds-ack", peer, id, keys}   the answer to our IntroduceFeeds
 *   {event:"reader", key}                      a reader feed was opened
 *   {event:"unknown-feed", peer, discoveryKey} the remote opened a channel we cannot match (yet)
 *   {event:"request", peer, id, type, value, valueHex}   a remote Request (answered type "echo")
 *   {event:"request-answer", peer, id, type, value, valueHex}
 *   {event:"ephemeral", peer, type, value, valueHex}
 *   {event:"block", feed, seq, data}           a block of a reader feed was downloaded (data hex)
 *   {event:"appended", seq, length}            after a stdin append
 *   {event:"sent", message, peers, id?}        after a stdin eph/request/introduce (peers = count)
 *   {event:"peer-end", peer, error}  {event:"peer-remove", peer}  {event:"closed"}
 *   {event:"state", feeds:[{key, length, blocks:[hex|null]}]}   answer to "state"
 *   {event:"done", feeds:[...same...]}         before exiting by itself
 * stdin: "append TEXT", "eph TYPE TEXT", "request TYPE TEXT", "introduce HEXKEY", "state", "exit".
 */
const path = require('node:path')
const { parse, emit, finish, hexArg, intArg, blocksArg, hostPortArg, onStdinLines, UsageError } = require('./lib/cli')
const { openFeed, append, readBlocks, hexOrNull, closeFeed } = require('./lib/feeds')
const { join, listen, connect } = require('./lib/net')
const { Party, TwoWriters } = require('./lib/party')

const USAGE = 'party-peer.js --party HEX32 (--port N | --connect HOST:PORT) [--seed HEX32] [--dir DIR | --memory] [--blocks-hex ...|BLOCK ...] [--id HEX32] [--name NAME] [--non-live] [--transaction-timeout-ms N] [--exit-after N] [--timeout-ms N]'

async function main () {
  const { values, positionals } = parse({
    party: { type: 'string' },
    port: { type: 'string' },
    host: { type: 'string' },
    connect: { type: 'string' },
    seed: { type: 'string' },
    dir: { type: 'string' },
    memory: { type: 'boolean' },
    'blocks-hex': { type: 'string' },
    id: { type: 'string' },
    name: { type: 'string' },
    'non-live': { type: 'boolean' },
    'transaction-timeout-ms': { type: 'string' },
    'exit-after': { type: 'string' }
  }, { allowPositionals: true, usage: USAGE })
  const partyKey = hexArg(values.party, '--party', 32)
  if (!partyKey) throw new UsageError('--party is required')
  if ((values.port === undefined) === (values.connect === undefined)) throw new UsageError('give exactly one of --port N or --connect HOST:PORT')
  if (values.dir && values.memory) throw new UsageError('give at most one of --dir or --memory')
  const seed = hexArg(values.seed, '--seed', 32)
  const id = hexArg(values.id, '--id', 32)
  const blocks = blocksArg({ hexList: values['blocks-hex'], utf8List: positionals })
  const txTimeout = intArg(values['transaction-timeout-ms'], '--transaction-timeout-ms') || 0
  const exitAfter = values.connect ? 1 : intArg(values['exit-after'], '--exit-after', { min: 1 })
  const dir = values.dir || null

  const localFeed = await openFeed({ dir: dir && path.join(dir, 'local'), seed })
  for (const b of blocks) await append(localFeed, b)

  const party = new Party({ partyKey, rules: null, live: !values['non-live'], name: values.name || null, transactionTimeout: txTimeout })
  const rules = new TwoWriters({
    localFeed,
    party,
    openReader: async (key) => {
      const feed = await openFeed({ dir: dir && path.join(dir, key.toString('hex')), key })
      feed.on('download', (seq, data) => emit({ event: 'block', feed: key.toString('hex'), seq, data: data.toString('hex') }))
      return feed
    }
  })
  party.rules = rules
  party.on('event', emit)

  emit({
    event: 'ready',
    key: localFeed.key.toString('hex'),
    discoveryKey: localFeed.discoveryKey.toString('hex'),
    length: localFeed.length,
    partyKey: partyKey.toString('hex'),
    partyDiscoveryKey: party.discoveryKey.toString('hex')
  })

  let server = null
  let conns = 0
  let ended = 0
  const streams = []

  async function feedsState () {
    const feeds = []
    for (const f of [localFeed, ...rules.readers.values()]) {
      feeds.push({ key: f.key.toString('hex'), length: f.length, blocks: (await readBlocks(f)).map(hexOrNull) })
    }
    return feeds
  }

  function start (socket) {
    const peer = conns++
    const stream = party.replicate({ id })
    streams.push(stream)
    join(socket, stream, (err) => {
      emit({ event: 'peer-end', peer, error: err ? err.message : null })
      ended++
      if (exitAfter && ended >= exitAfter) {
        feedsState().then((feeds) => {
          emit({ event: 'done', feeds })
          return shutdown()
        })
      }
    })
  }

  let shuttingDown = false
  async function shutdown () {
    if (shuttingDown) return
    shuttingDown = true
    if (server) server.close()
    for (const s of streams) if (!s.destroyed) s.finalize()
    await closeFeed(localFeed).catch(() => {})
    for (const f of rules.readers.values()) await closeFeed(f).catch(() => {})
    emit({ event: 'closed' })
    finish(0)
  }

  onStdinLines(async (cmd, rest) => {
    if (cmd === 'append') {
      const seq = await append(localFeed, Buffer.from(rest, 'utf8'))
      emit({ event: 'appended', seq, length: localFeed.length })
    } else if (cmd === 'eph' || cmd === 'request') {
      const sp = rest.indexOf(' ')
      const type = sp === -1 ? rest : rest.slice(0, sp)
      const value = Buffer.from(sp === -1 ? '' : rest.slice(sp + 1), 'utf8')
      if (!type) throw new Error(cmd + ' needs TYPE')
      if (cmd === 'eph') {
        for (const p of party.peers) p.sendEphemeralMessage({ type, value })
        emit({ event: 'sent', message: 'EphemeralMessage', peers: party.peers.length })
      } else {
        for (const p of party.peers) {
          const tx = p.request({ type, value })
          emit({ event: 'sent', message: 'Request', peers: 1, peer: party.peerIndex(p), id: tx.id })
          tx.answer.then(
            (m) => emit({ event: 'request-answer', peer: party.peerIndex(p), id: tx.id, type: m.type, value: m.value ? m.value.toString('utf8') : null, valueHex: hexOrNull(m.value) }),
            (err) => emit({ event: 'transaction-error', peer: party.peerIndex(p), id: tx.id, error: err.message })
          )
        }
      }
    } else if (cmd === 'introduce') {
      const key = hexArg(rest.trim(), 'introduce', 32)
      for (const p of party.peers) {
        const tx = p.introduceFeeds({ keys: [key] })
        emit({ event: 'sent', message: 'IntroduceFeeds', peers: 1, peer: party.peerIndex(p), id: tx.id })
        tx.answer.then(
          (m) => emit({ event: 'introduce-feeds-ack', peer: party.peerIndex(p), id: tx.id, keys: m.keys.map((k) => k.toString('hex')) }),
          (err) => emit({ event: 'transaction-error', peer: party.peerIndex(p), id: tx.id, error: err.message })
        )
      }
    } else if (cmd === 'state') {
      emit({ event: 'state', feeds: await feedsState() })
    } else if (cmd === 'exit') {
      await shutdown()
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
}

main()
