'use strict'
/**
 * A JS hyperdb 3.5.0 peer over loopback TCP: one db.replicate() stream per connection.
 *
 * usage: node hyperdb-peer.js (--dir DIR | --memory) [--key HEX32] (--port N | --connect HOST:PORT)
 *          [--live] [--send-local-key] [--authorize-remote] [--timeout-ms N]
 *   --key              the db to open (a clone); without it a new db (or DIR's stored one)
 *   --send-local-key   send this peer's local writer key as handshake userData (hyperdb README example)
 *   --authorize-remote authorize the writer key a connecting peer sends as userData
 * stdout (JSON lines):
 *   {event:"ready", key, localKey}; then {event:"listening", port} or {event:"connected"}
 *   {event:"authorized-remote", key}   after authorizing a peer's key (--authorize-remote)
 *   {event:"peer-end", error}          a connection ended
 *   one answer line per stdin command (below), with the command's name as event
 * stdin commands:
 *   put KEY VALUE | del KEY | authorize HEX   -> {event, key, seq}
 *   get KEY        -> {event:"get", key, values:[{value, feed, seq}]}  (values of every head; [] = none)
 *   list           -> {event:"list", entries:[{key, values:[...]}]}  (sorted by key)
 *   authorized HEX -> {event:"authorized", key, authorized}
 *   state          -> {event:"state", version, writers:[{key, length, authorized}]}
 *   end            -> finalizes every open stream (a graceful end); connect HOST:PORT -> dials again
 *   exit           -> exits
 * Values are utf-8 (valueEncoding utf-8).
 */
const path = require('node:path')
const hyperdb = require('hyperdb')
const raf = require('random-access-file')
const ram = require('random-access-memory')
const { parse, emit, finish, hexArg, hostPortArg, intArg, onStdinLines, call, UsageError } = require('./lib/cli')
const { join, listen, connect } = require('./lib/net')

const USAGE = 'hyperdb-peer.js (--dir DIR | --memory) [--key HEX32] (--port N | --connect HOST:PORT) [--live] [--send-local-key] [--authorize-remote]'

function values (db, nodes) {
  return (nodes || []).map((n) => ({ value: n.value, feed: db.feeds[n.feed].key.toString('hex'), seq: n.seq }))
}

async function main () {
  const { values: opts } = parse({
    dir: { type: 'string' },
    memory: { type: 'boolean' },
    key: { type: 'string' },
    port: { type: 'string' },
    connect: { type: 'string' },
    live: { type: 'boolean' },
    'send-local-key': { type: 'boolean' },
    'authorize-remote': { type: 'boolean' }
  }, { usage: USAGE })
  if (!opts.dir === !opts.memory) throw new UsageError('give exactly one of --dir DIR or --memory')
  if ((opts.port === undefined) === (opts.connect === undefined)) throw new UsageError('give exactly one of --port N or --connect HOST:PORT')
  const key = hexArg(opts.key, '--key', 32)
  const storage = opts.dir ? (name) => raf(path.join(opts.dir, name)) : ram
  const db = hyperdb(storage, key || null, { valueEncoding: 'utf-8' })
  await call((cb) => db.ready(cb))
  emit({ event: 'ready', key: db.key.toString('hex'), localKey: db.local.key.toString('hex') })

  const streams = new Set()
  function replicate (socket) {
    const stream = db.replicate(Object.assign({ live: !!opts.live }, opts['send-local-key'] ? { userData: db.local.key } : {}))
    streams.add(stream)
    if (opts['authorize-remote']) {
      stream.on('handshake', () => {
        const remote = stream.remoteUserData
        if (!remote || remote.length !== 32) return
        db.authorized(remote, (err, yes) => {
          if (err || yes) return
          db.authorize(remote, (err) => {
            if (!err) emit({ event: 'authorized-remote', key: remote.toString('hex') })
          })
        })
      })
    }
    join(socket, stream, (err) => {
      streams.delete(stream)
      emit({ event: 'peer-end', error: err ? err.message : null })
    })
  }

  if (opts.port !== undefined) {
    const server = await listen('127.0.0.1', intArg(opts.port, '--port'), replicate)
    emit({ event: 'listening', port: server.address().port })
  } else {
    const { host, port } = hostPortArg(opts.connect, '--connect')
    replicate(await connect(host, port))
    emit({ event: 'connected' })
  }

  const ref = (event, n) => ({ event, key: n.key, seq: n.seq, feed: db.feeds[n.feed].key.toString('hex') })
  onStdinLines(async (cmd, rest) => {
    const sp = rest.indexOf(' ')
    const a = sp === -1 ? rest : rest.slice(0, sp)
    const b = sp === -1 ? '' : rest.slice(sp + 1)
    switch (cmd) {
      case 'put': return emit(ref('put', await call((cb) => db.put(a, b, cb))))
      case 'del': return emit(ref('del', await call((cb) => db.del(a, cb))))
      case 'authorize': return emit(ref('authorize', await call((cb) => db.authorize(Buffer.from(a, 'hex'), cb))))
      case 'authorized': return emit({ event: 'authorized', key: a, authorized: await call((cb) => db.authorized(Buffer.from(a, 'hex'), cb)) })
      case 'get': return emit({ event: 'get', key: a, values: values(db, await call((cb) => db.get(a, { update: false }, cb))) })
      case 'list': {
        const groups = await call((cb) => db.list('', cb))
        const entries = groups.map((g) => ({ key: g[0].key, values: values(db, g) })).sort((x, y) => (x.key < y.key ? -1 : x.key > y.key ? 1 : 0))
        return emit({ event: 'list', entries })
      }
      case 'state': {
        const version = await call((cb) => db.version(cb))
        const authorized = new Set(db._authorized)
        const writers = db.feeds.map((f, i) => ({ key: f.key.toString('hex'), length: f.length, authorized: authorized.has(i) }))
        return emit({ event: 'state', version: version.toString('hex'), writers })
      }
      case 'end':
        for (const s of streams) s.finalize()
        return emit({ event: 'end' })
      case 'connect': {
        const { host, port } = hostPortArg(a, 'connect')
        replicate(await connect(host, port))
        return emit({ event: 'connected' })
      }
      case 'exit': return finish(0)
    }
    throw new UsageError('unknown command ' + cmd)
  })
}

main()
