'use strict'
/**
 * Regenerates tests/vectors/hyperdb.json from the real hyperdb 3.5.0 (its own hypercore 6.26.0).
 *
 * Each case is a list of steps run on in-process peers over random-access-memory: writes (put, del,
 * batch, authorize), reads (get, list, version, checkouts, diff, history, keyHistory, authorized), and
 * `sync X Y` (one non-live `db.replicate()` session piped between two peers, as hyperdb's own tests do).
 * Every step records its result; at the end every peer's writers (local-id order), authorized writers and
 * every block of every core it holds are recorded.  Python replays the steps (tests/test_hyperdb_vectors.py)
 * and must produce the same blocks and results.
 *
 * Peers: {name, seed} = a new db whose source key pair comes from seed (32 x byte); {name, of, localSeed}
 * = a clone of peer `of` whose local writer key pair comes from localSeed.  Determinism
 * (lib/determinism.js): key pairs from queued seeds, two queued nonces per sync, Math.random reseeded per
 * case, db ids from the DRBG.  Values: utf-8 strings, or hex strings for `binary` cases, or JSON values.
 *
 * usage: node gen-hyperdb-vectors.js [--out FILE] [--timeout-ms N]
 * stdout: one line {event:"written", file, sha256}
 */
const determinism = require('./lib/determinism') // before anything draws randomness
const fs = require('node:fs')
const path = require('node:path')
const crypto = require('node:crypto')
const sodium = require('sodium-universal')
const hyperdb = require('hyperdb')
const ram = require('random-access-memory')
const { parse, emit, finish, call } = require('./lib/cli')

// ---------------------------------------------------------------------------------------------
// cases

const SHARED = {
  name: 'shared',
  description: 'the scenario of the shared vectors (A seed 0x04, B local seed 0x05)',
  valueEncoding: 'utf-8',
  peers: [{ name: 'A', seed: 0x04 }, { name: 'B', of: 'A', localSeed: 0x05 }],
  steps: [
    ['A', 'put', 'a', '1'], ['A', 'put', 'b', '2'], ['A', 'del', 'b'], ['A', 'authorize', 'B'],
    ['sync', 'A', 'B'], ['B', 'authorized', 'B'], ['B', 'put', 'c', '3'], ['sync', 'A', 'B'],
    ['A', 'get', 'a'], ['A', 'get', 'b'], ['A', 'get', 'c'], ['A', 'list', ''], ['A', 'version', 'v'],
    ['B', 'get', 'a'], ['B', 'get', 'b'], ['B', 'get', 'c'], ['B', 'list', ''], ['B', 'version', 'v']
  ]
}

const CONFLICT = {
  name: 'conflict',
  description: 'two writers put one key concurrently: both values on both sides; a two-head write; resolution; checkouts, diff, history',
  valueEncoding: 'utf-8',
  peers: [{ name: 'A', seed: 0x0a }, { name: 'B', of: 'A', localSeed: 0x0b }],
  steps: [
    ['A', 'put', 'x', 'a0'], ['B', 'put', 'mine', 'unauthorized'], ['B', 'get', 'mine'],
    ['B', 'authorized', 'B'], ['A', 'authorize', 'B'], ['sync', 'A', 'B'], ['B', 'authorized', 'B'],
    ['A', 'authorized', 'B'], ['A', 'get', 'mine'], ['B', 'get', 'mine'],
    ['A', 'put', 'x', 'a1'], ['B', 'put', 'x', 'b1'], ['A', 'get', 'x'], ['B', 'get', 'x'],
    ['sync', 'A', 'B'], ['A', 'get', 'x'], ['B', 'get', 'x'], ['A', 'list', ''], ['B', 'list', ''],
    ['A', 'version', 'v1'], ['B', 'version', 'v1b'],
    ['A', 'put', 'y', 'a2'], ['A', 'put', 'x/y', 'nested'], ['A', 'get', 'x'], ['sync', 'A', 'B'],
    ['B', 'get', 'y'], ['B', 'put', 'x', 'resolved'], ['B', 'get', 'x'], ['sync', 'A', 'B'],
    ['A', 'get', 'x'], ['A', 'get', 'x/y'], ['A', 'list', 'x'], ['A', 'checkout', 'v1', 'get', 'x'],
    ['A', 'checkout', 'v1', 'list', ''], ['A', 'diff', 'v1', ''], ['A', 'history'], ['A', 'history-reverse'],
    ['A', 'keyHistory', 'x'], ['B', 'del', 'x'], ['sync', 'A', 'B'], ['A', 'get', 'x'],
    ['A', 'get', 'x', { deletes: true }], ['A', 'list', ''], ['A', 'version', 'v2'], ['B', 'version', 'v2b']
  ]
}

const THREE = {
  name: 'three-writers',
  description: 'B authorizes C (transitive authorization); batches, deletes, nested keys, prefixes',
  valueEncoding: 'utf-8',
  peers: [{ name: 'A', seed: 0x21 }, { name: 'B', of: 'A', localSeed: 0x22 }, { name: 'C', of: 'A', localSeed: 0x23 }],
  steps: [
    ['A', 'batch', [{ type: 'put', key: 'dir/a', value: '1' }, { type: 'put', key: 'dir/b', value: '2' }, { type: 'put', key: '/top', value: 't' }]],
    ['A', 'authorize', 'B'], ['sync', 'A', 'B'], ['B', 'authorize', 'C'], ['sync', 'B', 'C'],
    ['C', 'authorized', 'C'], ['A', 'authorized', 'C'], ['sync', 'A', 'B'], ['A', 'authorized', 'C'],
    ['C', 'put', 'dir/c', '3'], ['C', 'put', 'dir/sub/d', '4'], ['B', 'put', 'dir/a', 'B1'],
    ['A', 'del', 'dir/b'], ['A', 'put', 'dir/e', '5'],
    ['sync', 'B', 'C'], ['sync', 'A', 'B'], ['sync', 'A', 'C'],
    ['C', 'batch', [{ type: 'del', key: 'dir/sub/d' }, { type: 'put', key: 'dir/f', value: '6' }, { type: 'put', key: 'dir/a', value: 'C1' }]],
    ['sync', 'A', 'C'], ['sync', 'A', 'B'],
    ['A', 'get', 'dir/a'], ['B', 'get', 'dir/a'], ['C', 'get', 'dir/a'], ['A', 'get', 'top'], ['A', 'get', '/dir/b'],
    ['A', 'list', 'dir'], ['A', 'list', 'dir', { recursive: false }], ['A', 'list', ''], ['A', 'list', 'dir', { reverse: true }],
    ['A', 'list', 'dir/sub'], ['B', 'list', ''], ['C', 'list', ''], ['A', 'version', 'v'], ['B', 'version', 'v'],
    ['C', 'version', 'v'], ['A', 'history'], ['A', 'get', 'dir', { prefix: true }]
  ]
}

const FORKS = {
  name: 'forks',
  description: 'three writers write many keys without syncing, then write on top of three heads (forked buckets)',
  valueEncoding: 'utf-8',
  peers: [{ name: 'A', seed: 0x31 }, { name: 'B', of: 'A', localSeed: 0x32 }, { name: 'C', of: 'A', localSeed: 0x33 }],
  steps: [
    ['A', 'authorize', 'B'], ['A', 'authorize', 'C'], ['sync', 'A', 'B'], ['sync', 'A', 'C'], ['sync', 'B', 'C'],
    ...['k0', 'k1', 'k2', 'k3', 'k4', 'k5'].map((k) => ['A', 'put', k, 'A-' + k]),
    ...['k1', 'k3', 'k6', 'k7', 'k8'].map((k) => ['B', 'put', k, 'B-' + k]),
    ...['k2', 'k5', 'k7', 'k9'].map((k) => ['C', 'put', k, 'C-' + k]),
    ['sync', 'A', 'B'], ['sync', 'A', 'C'], ['sync', 'B', 'C'],
    ['A', 'list', ''], ['A', 'get', 'k7'], ['A', 'get', 'k1'],
    ['A', 'put', 'k10', 'A-k10'], ['A', 'put', 'k3', 'A-k3b'], ['B', 'put', 'k11', 'B-k11'],
    ['sync', 'A', 'B'], ['sync', 'A', 'C'], ['sync', 'B', 'C'],
    ['C', 'put', 'k12', 'C-k12'], ['C', 'list', ''], ['A', 'list', ''], ['B', 'list', ''],
    ['B', 'get', 'k7'], ['C', 'get', 'k5'], ['C', 'version', 'v']
  ]
}

const BINARY = {
  name: 'binary',
  description: 'one writer, binary values (hex here): empty values, ifNotExists, deletes, collisions under one segment',
  valueEncoding: 'binary',
  peers: [{ name: 'A', seed: 0x41 }],
  steps: [
    ['A', 'put', 'x', '00ff'], ['A', 'put', 'x/y', ''], ['A', 'put', 'x/z', '01'], ['A', 'put', 'x', '02'],
    ['A', 'put', 'x', '03', { ifNotExists: true }], ['A', 'put', 'new', '04', { ifNotExists: true }],
    ['A', 'del', 'missing'], ['A', 'get', 'missing'], ['A', 'get', 'missing', { deletes: true }],
    ['A', 'get', 'x'], ['A', 'get', 'x/y'], ['A', 'list', 'x'], ['A', 'list', ''], ['A', 'del', 'x'],
    ['A', 'get', 'x'], ['A', 'list', ''], ['A', 'history'], ['A', 'keyHistory', 'x'], ['A', 'version', 'v'],
    ['A', 'get', ''], ['A', 'get', '', { deletes: true }], ['A', 'checkout', 4, 'get', 'x']
  ]
}

const JSONCASE = {
  name: 'json',
  description: 'json value encoding; a clone reading after sync',
  valueEncoding: 'json',
  peers: [{ name: 'A', seed: 0x51 }, { name: 'B', of: 'A', localSeed: 0x52 }],
  steps: [
    ['A', 'put', 'doc', { n: 1, s: 'text', list: [1, 2, null], nested: { t: true } }], ['A', 'put', 'num', 42],
    ['A', 'put', 'str', 'plain'], ['sync', 'A', 'B'], ['B', 'get', 'doc'], ['B', 'list', ''], ['B', 'authorized', 'B'],
    ['B', 'version', 'v']
  ]
}

const CASES = [SHARED, CONFLICT, THREE, FORKS, BINARY, JSONCASE]

// ---------------------------------------------------------------------------------------------
// running

function seedOf (seed) {
  return typeof seed === 'string' ? Buffer.from(seed, 'hex') : Buffer.alloc(32, seed)
}

function versions () {
  const javascript = require('sodium-javascript')
  const v = {}
  for (const name of ['hyperdb', 'hypercore-protocol', 'random-access-memory', 'sodium-universal']) v[name] = require(name + '/package.json').version
  v['hyperdb/hypercore'] = require('hyperdb/node_modules/hypercore/package.json').version
  v.node = process.version
  v.sodiumBackend = sodium === javascript ? 'sodium-javascript' : 'sodium-native'
  return v
}

class Runner {
  /** `storage(peerName)` gives a peer's hyperdb storage (default: random-access-memory). */
  constructor (kase, { storage = null } = {}) {
    this.kase = kase
    this.storage = storage || (() => ram)
    this.dbs = {}
    this.versions = {}
    this.nonce = 0
  }

  encodeValue (v) {
    if (this.kase.valueEncoding === 'binary') return Buffer.from(v, 'hex')
    return v
  }

  valueJson (v) {
    if (v === null || v === undefined) return null
    if (this.kase.valueEncoding === 'binary') return Buffer.from(v).toString('hex')
    return v
  }

  feedKey (db, id) {
    return db.feeds[id].key.toString('hex')
  }

  nodeJson (db, n) {
    return {
      key: n.key,
      value: this.valueJson(n.value),
      deleted: !!n.deleted,
      seq: n.seq,
      feed: this.feedKey(db, n.feed),
      clock: Array.from(n.clock, (c) => c || 0)
    }
  }

  /** Peers: {name, seed} a new db; {name, of, localSeed} a new clone; {name, key} an existing db. */
  async open (peer) {
    const opts = { valueEncoding: this.kase.valueEncoding }
    const st = this.storage(peer.name)
    let db
    if (peer.key !== undefined) {
      db = hyperdb(st, Buffer.from(peer.key, 'hex'), opts)
    } else if (peer.seed !== undefined) {
      determinism.queueKeySeeds(seedOf(peer.seed))
      db = hyperdb(st, opts)
    } else {
      determinism.queueKeySeeds(seedOf(peer.localSeed))
      db = hyperdb(st, this.dbs[peer.of].key, opts)
    }
    await call((cb) => db.ready(cb))
    this.dbs[peer.name] = db
  }

  async start () {
    for (const peer of this.kase.peers) await this.open(peer)
  }

  async runSteps (steps) {
    const out = []
    for (const s of steps) out.push({ op: s, result: (await this.step(s)) ?? null })
    return out
  }

  async finalStates () {
    const final = {}
    for (const peer of this.kase.peers) final[peer.name] = await this.finalState(this.dbs[peer.name])
    return final
  }

  async close () {
    for (const db of Object.values(this.dbs)) {
      for (const feed of db.feeds) await call((cb) => feed.close(cb))
    }
  }

  async sync (a, b) {
    const n = this.nonce
    this.nonce += 2
    determinism.queueNonces(Buffer.alloc(24, 0x80 + n), Buffer.alloc(24, 0x81 + n))
    await new Promise((resolve, reject) => {
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
    if (determinism.pendingNonces()) throw new Error('a sync did not draw both nonces')
  }

  async collect (ite, fn) {
    const out = []
    while (true) {
      const item = await call((cb) => ite.next(cb))
      if (item === null || item === undefined) return out
      out.push(fn(item))
    }
  }

  async read (db, op, args) {
    const nodes = (list) => list.map((n) => this.nodeJson(db, n))
    switch (op) {
      case 'get': return nodes(await call((cb) => db.get(args[0], args[1] || {}, cb)))
      case 'list': return (await call((cb) => db.list(args[0], args[1] || {}, cb))).map(nodes)
      case 'diff': {
        const other = db.checkout(this.versions[args[0]])
        return this.collect(db.diff(other, args[1]), (d) => ({ left: d.left && nodes(d.left), right: d.right && nodes(d.right) }))
      }
      case 'history': return this.collect(db.history(), (n) => ({ key: n.key, seq: n.seq, feed: this.feedKey(db, n.feed) }))
      case 'history-reverse': return this.collect(db.history({ reverse: true }), (n) => ({ key: n.key, seq: n.seq, feed: this.feedKey(db, n.feed) }))
      case 'keyHistory': return this.collect(db.keyHistory(args[0]), nodes)
    }
    throw new Error('unknown read ' + op)
  }

  async step (s) {
    if (s[0] === 'sync') return this.sync(this.dbs[s[1]], this.dbs[s[2]])
    const db = this.dbs[s[0]]
    const op = s[1]
    const args = s.slice(2)
    const ref = (n) => n && { key: n.key, seq: n.seq, feed: this.feedKey(db, n.feed) }
    switch (op) {
      case 'put': return ref(await call((cb) => db.put(args[0], this.encodeValue(args[1]), args[2] || {}, cb)))
      case 'del': return ref(await call((cb) => db.del(args[0], cb)))
      case 'batch': {
        const ops = args[0].map((o) => Object.assign({}, o, o.value === undefined ? {} : { value: this.encodeValue(o.value) }))
        return (await call((cb) => db.batch(ops, cb))).map(ref)
      }
      case 'authorize': return ref(await call((cb) => db.authorize(this.dbs[args[0]].local.key, cb)))
      case 'authorized': return call((cb) => db.authorized(this.dbs[args[0]].local.key, cb))
      case 'version': {
        const v = await call((cb) => db.version(cb))
        this.versions[args[0]] = v
        return v.toString('hex')
      }
      case 'checkout': {
        const version = typeof args[0] === 'number' ? args[0] : this.versions[args[0]]
        const co = db.checkout(version)
        return this.read(co, args[1], args.slice(2))
      }
      default: return this.read(db, op, args)
    }
  }

  async finalState (db) {
    const cores = {}
    for (const feed of db.feeds) {
      const blocks = []
      for (let i = 0; i < feed.length; i++) {
        blocks.push(feed.has(i) ? (await call((cb) => feed.get(i, { valueEncoding: 'binary' }, cb))).toString('hex') : null)
      }
      const signature = feed.length ? (await call((cb) => feed.signature(feed.length - 1, cb))).signature.toString('hex') : null
      cores[feed.key.toString('hex')] = { length: feed.length, blocks, signature }
    }
    return {
      key: db.key.toString('hex'),
      localKey: db.local.key.toString('hex'),
      writers: db.feeds.map((f) => f.key.toString('hex')),
      authorized: db._authorized.map((i) => db.feeds[i].key.toString('hex')),
      cores
    }
  }

  async run (index) {
    determinism.reseed(0x4db0 + index, 'hyperdb-' + this.kase.name)
    await this.start()
    const steps = await this.runSteps(this.kase.steps)
    const final = await this.finalStates()
    const keys = {}
    for (const peer of this.kase.peers) {
      const seed = seedOf(peer.seed !== undefined ? peer.seed : peer.localSeed)
      keys[peer.name] = { seed: seed.toString('hex'), key: final[peer.name].localKey }
    }
    return {
      name: this.kase.name,
      description: this.kase.description,
      valueEncoding: this.kase.valueEncoding,
      peers: this.kase.peers.map((p) => Object.assign({}, p, p.seed !== undefined ? { seed: seedOf(p.seed).toString('hex') } : { localSeed: seedOf(p.localSeed).toString('hex') })),
      keys,
      steps,
      final
    }
  }
}

async function main () {
  const { values } = parse({ out: { type: 'string' } }, { usage: 'gen-hyperdb-vectors.js [--out FILE]' })
  const out = values.out || path.join(__dirname, '..', '..', 'vectors', 'hyperdb.json')
  const cases = []
  for (let i = 0; i < CASES.length; i++) cases.push(await new Runner(CASES[i]).run(i))
  const doc = {
    description: 'hyperdb 3.5.0 cases recorded by tests/interop/js/gen-hyperdb-vectors.js: steps with results, then every peer\'s writers and blocks',
    versions: versions(),
    conventions: {
      values: 'utf-8 and json cases: the value itself; binary cases: hex',
      node: '{key, value, deleted, seq, feed: writer key hex, clock: by local id of the reading peer}',
      ref: 'put/del/authorize results: {key, seq, feed}',
      sync: 'one non-live db.replicate() session between the two peers'
    },
    cases
  }
  const text = JSON.stringify(doc, null, 2) + '\n'
  fs.mkdirSync(path.dirname(out), { recursive: true })
  fs.writeFileSync(out, text)
  emit({ event: 'written', file: out, sha256: crypto.createHash('sha256').update(text).digest('hex') })
  finish(0)
}

module.exports = { Runner, CASES }

if (require.main === module) main()
