'use strict'
/**
 * A 2019 Dat peer on the LAN: discovery-swarm 5.1.4 with dat-swarm-defaults 1.0.2, `hash: false`, utp off,
 * replicating one hypercore 7.7.1 feed live on every connection (`feed.replicate({live: true})`, so the
 * handshake id is the feed's id, as in dat-node).  Run it only inside a network namespace in tests: it
 * multicasts on 224.0.0.251:5353 (and tries the dat DNS servers / DHT, which fail without a route).
 *
 * usage: node discovery-swarm-peer.js [--seed HEX32 | --key HEX32] [--port N] [--id HEX32]
 *          [--no-dht] [--lookup-only] [--expect-length N] [--timeout-ms N] [BLOCK ...]
 *   --seed   writer (key pair from the seed; BLOCKs appended); --key: a reader of that feed.
 *   --id     the feed's (= the stream's handshake) id; default random.
 * stdout (JSON lines):
 *   {event:"listening", port, key, discoveryKey, id}
 *   {event:"peer", host, port}                    discovery-swarm found (and queued) a peer
 *   {event:"connection", host, port, initiator, remoteId}
 *   {event:"redundant-connection", host, port, initiator}
 *   {event:"connection-closed", host, port, initiator}
 *   {event:"peer-banned", reason}
 *   {event:"synced", length, blocks}              the feed reached --expect-length (blocks as hex)
 *   {event:"status", connections, ids}           reply to "status"
 * stdin commands: "append TEXT", "status", "exit".
 */
const crypto = require('node:crypto')
const { parse, emit, finish, hexArg, intArg, onStdinLines, UsageError } = require('./lib/cli')
const { openFeed, append, readBlocks } = require('./lib/feeds')
const swarmDefaults = require('dat-swarm-defaults')
const discoverySwarm = require('discovery-swarm')

async function main () {
  const { values, positionals } = parse({
    seed: { type: 'string' },
    key: { type: 'string' },
    port: { type: 'string' },
    id: { type: 'string' },
    'no-dht': { type: 'boolean' },
    'lookup-only': { type: 'boolean' },
    'expect-length': { type: 'string' }
  }, { allowPositionals: true, usage: 'discovery-swarm-peer.js [--seed HEX32 | --key HEX32] [--port N] [--id HEX32] [--no-dht] [--lookup-only] [--expect-length N] [BLOCK ...]' })
  if (!values.seed === !values.key) throw new UsageError('give exactly one of --seed or --key')
  const feed = await openFeed({ seed: hexArg(values.seed, '--seed', 32), key: hexArg(values.key, '--key', 32) })
  feed.id = hexArg(values.id, '--id', 32) || crypto.randomBytes(32)
  for (const b of positionals) await append(feed, Buffer.from(b, 'utf8'))
  const expect = intArg(values['expect-length'], '--expect-length')

  const opts = {
    hash: false,
    utp: false,
    stream: () => feed.replicate({ live: true })
  }
  if (values['no-dht']) opts.dht = false
  const sw = discoverySwarm(swarmDefaults(opts))
  sw.on('error', (err) => emit({ event: 'swarm-error', error: err.message }))
  sw.on('peer', (peer) => emit({ event: 'peer', host: peer.host, port: peer.port }))
  sw.on('connection', (conn, info) => emit({ event: 'connection', host: info.host, port: info.port, initiator: info.initiator, remoteId: info.id.toString('hex') }))
  sw.on('redundant-connection', (conn, info) => emit({ event: 'redundant-connection', host: info.host, port: info.port, initiator: info.initiator }))
  sw.on('connection-closed', (conn, info) => emit({ event: 'connection-closed', host: info.host, port: info.port, initiator: info.initiator }))
  sw.on('peer-banned', (peer, info) => emit({ event: 'peer-banned', reason: (info && info.reason) || (peer && peer.reason) || null }))

  let synced = false
  async function checkSynced () {
    if (synced || expect === undefined || feed.length < expect) return
    for (let i = 0; i < expect; i++) if (!feed.has(i)) return
    synced = true
    const blocks = await readBlocks(feed)
    emit({ event: 'synced', length: feed.length, blocks: blocks.map((b) => b.toString('hex')) })
  }
  feed.on('download', () => checkSynced())
  feed.on('append', () => checkSynced())

  onStdinLines(async (cmd, rest) => {
    if (cmd === 'append') {
      await append(feed, Buffer.from(rest, 'utf8'))
      emit({ event: 'appended', length: feed.length })
    } else if (cmd === 'status') {
      emit({ event: 'status', connections: sw.connections.length, ids: sw.connections.map((c) => c.remoteId ? c.remoteId.toString('hex') : null) })
    } else if (cmd === 'exit') {
      sw.destroy(() => finish(0))
    } else {
      throw new Error('unknown command ' + JSON.stringify(cmd))
    }
  })

  sw.listen(intArg(values.port, '--port') || 0)
  sw.once('listening', () => {
    sw.join(feed.discoveryKey, { announce: !values['lookup-only'] })
    emit({ event: 'listening', port: sw.address().port, key: feed.key.toString('hex'), discoveryKey: feed.discoveryKey.toString('hex'), id: feed.id.toString('hex') })
    checkSynced()
  })
}

main()
