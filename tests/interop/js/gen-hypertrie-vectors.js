'use strict'
/**
 * Regenerates OUR OWN hypertrie 3.8.0 vectors (tests/vectors/hypertrie.json by default): a list of cases,
 * each a fresh db (hypercore 7.7.1 on random-access-memory, key pair from a 32-byte seed) on which a list
 * of operations is run, then a list of queries. Recorded per case: every block of the feed (hex), what
 * each operation returned, the final signature, and each query's answer.
 *
 * Operations: ["put", key, value, opts?]  ["del", key, opts?]  ["batch", [{type, key, value, hidden, flags}]]
 *   (opts: {hidden, flags}). Values are JSON: a string for the default (no) and utf-8 encodings (stored as
 *   its UTF-8 bytes), any JSON value for valueEncoding json, null for "no value".
 * Results: per op, the nodes it appended as [{key, seq}].
 * Queries: {q:"get", key, opts}  {q:"list", prefix, opts}  {q:"history", opts}  {q:"version"}
 *   {q:"checkout", version, queries:[...]}  {q:"diff", other (a version), prefix, opts}
 * Answers: a node is {key, seq, value, flags} as hypertrie returns it after node.final(): value as JSON
 *   (a Buffer as {hex}), flags as JS reports them (user flags; the raw stored number when there is no
 *   value: a JS quirk). Errors are recorded as {error: message}.
 * Deterministic (lib/determinism.js): running it twice gives identical files.
 *
 * usage: node gen-hypertrie-vectors.js [--out DIR] [--timeout-ms N]
 * stdout: one line {event:"written", dir, files:{name: sha256}}
 */
const determinism = require('./lib/determinism') // before anything draws randomness
const fs = require('node:fs')
const path = require('node:path')
const crypto = require('node:crypto')
const sodium = require('sodium-universal')
const hypertrie = require('hypertrie')
const hcrypto = require('hypercore-crypto')
const ram = require('random-access-memory')
const { parse, emit, finish, call } = require('./lib/cli')

function fill (byte, n = 32) {
  return Buffer.alloc(n, byte)
}

function versionOf (name) {
  return require(name + '/package.json').version
}

function versions () {
  const javascript = require('sodium-javascript')
  const backend = sodium === javascript ? 'sodium-javascript@' + versionOf('sodium-javascript') : 'sodium-native@' + versionOf('sodium-native')
  const v = {}
  for (const name of ['hypertrie', 'hypercore', 'random-access-memory', 'sodium-universal', 'codecs', 'varint']) v[name] = versionOf(name)
  v.node = process.version
  v.sodiumBackend = backend
  return v
}

function valueJson (v) {
  if (v === null || v === undefined) return null
  if (Buffer.isBuffer(v)) return { hex: v.toString('hex') }
  return v
}

function nodeJson (n) {
  if (!n) return null
  return { key: n.key, seq: n.seq, value: valueJson(n.value), flags: n.flags }
}

// ---------------------------------------------------------------------------------------------
// the cases

const COLLIDING = ['idgcmnmna', 'mpomeiehc'] // same SipHash-2-4 under the zero key (hypertrie's own test)

function manyOps () {
  const ops = []
  for (let i = 0; i < 300; i++) {
    const key = i % 3 === 0 ? `k${i}` : `d${i % 7}/f${i}`
    ops.push(['put', key, `v${i}`])
  }
  for (let i = 0; i < 300; i += 11) ops.push(['del', i % 3 === 0 ? `k${i}` : `d${i % 7}/f${i}`])
  ops.push(['batch', Array.from({ length: 40 }, (_, i) => ({ type: 'put', key: `b/${i}`, value: `bv${i}` }))])
  ops.push(['put', 'k3', 'again'])
  return ops
}

const CASES = [
  {
    name: 'shared',
    seed: 0x02,
    valueEncoding: null,
    ops: [['put', 'a', '1'], ['put', 'b', '2'], ['put', 'a/b', '3'], ['del', 'b']],
    queries: [
      { q: 'get', key: 'a' }, { q: 'get', key: 'b' }, { q: 'get', key: 'a/b' }, { q: 'get', key: 'c' },
      { q: 'list', prefix: '' }, { q: 'list', prefix: 'a' }, { q: 'version' }
    ]
  },
  {
    name: 'utf8-overwrite',
    seed: 0x10,
    valueEncoding: 'utf-8',
    ops: [['put', 'hello', 'world'], ['put', 'foo', 'bar'], ['put', 'hello', 'again'], ['put', 'foo', ''], ['put', 'nothing', null]],
    queries: [
      { q: 'get', key: 'hello' }, { q: 'get', key: 'foo' }, { q: 'get', key: 'nothing' }, { q: 'get', key: 'missing' },
      { q: 'list', prefix: '' }, { q: 'history', opts: {} }, { q: 'history', opts: { reverse: true, gte: 2 } }
    ]
  },
  {
    name: 'json',
    seed: 0x11,
    valueEncoding: 'json',
    ops: [['put', 'obj', { a: 1, b: [true, null, 'x'], c: { d: 'ü' } }], ['put', 'num', 42], ['put', 'str', 'world'], ['put', 'neg', -7.5], ['put', 'arr', []]],
    queries: [{ q: 'get', key: 'obj' }, { q: 'get', key: 'num' }, { q: 'get', key: 'str' }, { q: 'list', prefix: '' }]
  },
  {
    name: 'collisions',
    seed: 0x12,
    valueEncoding: 'utf-8',
    ops: [
      ['put', COLLIDING[0], 'first'],
      ['put', COLLIDING[1], 'second'],
      ['put', COLLIDING[0], 'first again'],
      ['put', `${COLLIDING[0]}/x`, 'under first'],
      ['put', `${COLLIDING[1]}/y`, 'under second'],
      ['put', 'other', 'o'],
      ['put', `${COLLIDING[1]}/x`, 'second x'],
      ['del', COLLIDING[1]],
      ['put', COLLIDING[1], 'second back'],
      ['del', `${COLLIDING[0]}/x`]
    ],
    queries: [
      { q: 'get', key: COLLIDING[0] }, { q: 'get', key: COLLIDING[1] },
      { q: 'get', key: `${COLLIDING[0]}/x` }, { q: 'get', key: `${COLLIDING[1]}/x` }, { q: 'get', key: `${COLLIDING[1]}/y` },
      { q: 'get', key: `${COLLIDING[0]}/y` }, { q: 'list', prefix: '' }, { q: 'list', prefix: COLLIDING[0] },
      { q: 'list', prefix: COLLIDING[1] }, { q: 'list', prefix: '', opts: { recursive: false } },
      { q: 'checkout', version: 4, queries: [{ q: 'get', key: COLLIDING[0] }, { q: 'get', key: COLLIDING[1] }, { q: 'list', prefix: '' }] }
    ]
  },
  {
    name: 'collision-delete-older',
    seed: 0x13,
    valueEncoding: 'utf-8',
    // deleting the older of two colliding keys: del walks digits only and ends on the newer one, whose key
    // differs, so nothing is deleted (JS TODO "collisions" in lib/del.js)
    ops: [['put', COLLIDING[0], 'a'], ['put', COLLIDING[1], 'b'], ['del', COLLIDING[0]], ['del', COLLIDING[1]], ['del', COLLIDING[0]]],
    queries: [{ q: 'get', key: COLLIDING[0] }, { q: 'get', key: COLLIDING[1] }, { q: 'list', prefix: '' }]
  },
  {
    name: 'deletes',
    seed: 0x14,
    valueEncoding: 'utf-8',
    ops: [
      ['del', 'nothing-yet'],
      ['put', 'a', '1'], ['put', 'a/b', '2'], ['put', 'a/c', '3'], ['put', 'a/b/c', '4'], ['put', 'z', '5'],
      ['del', 'a/b/c'], // a leaf
      ['del', 'a'], // a key with children
      ['del', 'missing'], // absent key: no block
      ['del', 'a/b/'], // trailing slash: del compares whole keys, so this deletes nothing
      ['put', 'a', 'back'], // re-put after delete
      ['del', 'a'], ['del', 'a'],
      ['del', 'a/b'], ['del', 'a/c'], ['del', 'z'], // the last key: writes the "" node
      ['del', 'z'],
      ['put', 'fresh', 'start']
    ],
    queries: [
      { q: 'get', key: 'a' }, { q: 'get', key: 'fresh' }, { q: 'get', key: 'z' }, { q: 'list', prefix: '' },
      { q: 'history', opts: { gte: 1, lte: 11 } }, // (block 12 is the "" node: JS history crashes on it)
      { q: 'checkout', version: 8, queries: [{ q: 'list', prefix: '' }, { q: 'get', key: 'a/b/c' }] },
      { q: 'checkout', version: 13, queries: [{ q: 'list', prefix: '' }, { q: 'get', key: 'z' }] },
      { q: 'diff', other: 8, prefix: '' }, { q: 'diff', other: 0, prefix: '' }
    ]
  },
  {
    name: 'batches',
    seed: 0x15,
    valueEncoding: 'utf-8',
    ops: [
      ['batch', [{ type: 'put', key: 'a', value: '1' }, { type: 'put', key: 'b', value: '2' }, { type: 'put', key: 'c/d', value: '3' }]],
      ['batch', [{ type: 'put', key: 'x', value: 'x1' }, { type: 'del', key: 'x' }, { type: 'del', key: 'never' }, { type: 'put', key: 'y', value: 'y1' }]],
      ['batch', [{ type: 'del', key: 'a' }, { type: 'put', key: 'a', value: 'A' }, { type: 'put', key: 'b', value: 'B', flags: 3 }]],
      ['batch', []],
      ['batch', [{ type: 'del', key: 'never' }]],
      ['batch', [{ type: 'put', key: 'h', value: 'hidden', hidden: true }, { type: 'put', key: 'h', value: 'visible' }]]
    ],
    queries: [
      { q: 'get', key: 'a' }, { q: 'get', key: 'b' }, { q: 'get', key: 'x' }, { q: 'get', key: 'y' }, { q: 'get', key: 'h' },
      { q: 'get', key: 'h', opts: { hidden: true } }, { q: 'list', prefix: '' }, { q: 'list', prefix: '', opts: { hidden: true } },
      { q: 'diff', other: 4, prefix: '' }
    ]
  },
  {
    name: 'batch-empties-db',
    seed: 0x16,
    valueEncoding: 'utf-8',
    // a batch sees its own "" node as a head (JS Batch.get returns it), unlike a reader
    ops: [['batch', [{ type: 'put', key: 'a', value: '1' }, { type: 'del', key: 'a' }, { type: 'put', key: 'b', value: '2' }]], ['put', 'c', '3']],
    queries: [{ q: 'get', key: 'a' }, { q: 'get', key: 'b' }, { q: 'get', key: 'c' }]
  },
  {
    name: 'unicode-slashes',
    seed: 0x17,
    valueEncoding: 'utf-8',
    ops: [
      ['put', 'a//b', 'double'], ['put', '/a/', 'slashes'], ['put', 'a/b/', 'trailing'], ['put', 'a/b', 'plain'],
      ['put', '//x', 'two leading'], ['put', 'ü/ñ', 'latin'], ['put', '日本/語/', 'cjk'], ['put', '😀', 'emoji'],
      ['put', 'a b/c d', 'spaces'], ['put', 'a//', 'empty last segment'], ['put', '///', 'only slashes'],
      ['del', '//x'], ['del', 'x']
    ],
    queries: [
      { q: 'get', key: 'a//b' }, { q: 'get', key: 'a/b' }, { q: 'get', key: 'a/b/' }, { q: 'get', key: '/a/b' }, { q: 'get', key: 'a' },
      { q: 'get', key: '/a' }, { q: 'get', key: 'x' }, { q: 'get', key: '/x' }, { q: 'get', key: '//x' }, { q: 'get', key: 'ü/ñ' },
      { q: 'get', key: '日本/語' }, { q: 'get', key: '😀' }, { q: 'get', key: 'a//' }, { q: 'get', key: 'a/' },
      { q: 'list', prefix: '' }, { q: 'list', prefix: 'a' }, { q: 'list', prefix: 'a/' }, { q: 'list', prefix: '/a' },
      { q: 'list', prefix: '日本' }, { q: 'list', prefix: '', opts: { recursive: false } }, { q: 'list', prefix: 'a', opts: { recursive: false } }
    ]
  },
  {
    name: 'empty-key',
    seed: 0x18,
    valueEncoding: 'utf-8',
    // put("") writes a node with key "": every reader then sees an empty db
    ops: [['put', 'a', '1'], ['put', '', 'root'], ['put', 'b', '2'], ['put', '/', 'slash']],
    queries: [{ q: 'get', key: 'a' }, { q: 'get', key: 'b' }, { q: 'get', key: '' }, { q: 'list', prefix: '' }, { q: 'version' }]
  },
  {
    name: 'hidden-flags',
    seed: 0x19,
    valueEncoding: 'utf-8',
    ops: [
      ['put', 'k', 'visible'], ['put', 'k', 'hidden', { hidden: true }], ['put', 'f', 'flagged', { flags: 5 }],
      ['put', 'n', null, { flags: 2 }], ['put', 'hk/a', 'ha', { hidden: true, flags: 1 }], ['put', 'hk/b', 'hb', { hidden: true }],
      ['del', 'k', { hidden: true }], ['del', 'f']
    ],
    queries: [
      { q: 'get', key: 'k' }, { q: 'get', key: 'k', opts: { hidden: true } }, { q: 'get', key: 'f' }, { q: 'get', key: 'n' },
      { q: 'get', key: 'hk/a', opts: { hidden: true } }, { q: 'get', key: 'hk/a' }, { q: 'list', prefix: '' },
      { q: 'list', prefix: '', opts: { hidden: true } }, { q: 'list', prefix: 'hk', opts: { hidden: true } }, { q: 'history', opts: {} }
    ]
  },
  {
    name: 'many',
    seed: 0x1a,
    valueEncoding: 'utf-8',
    ops: manyOps(),
    queries: [
      { q: 'get', key: 'k0' }, { q: 'get', key: 'k3' }, { q: 'get', key: 'd1/f1' }, { q: 'get', key: 'd4/f11' }, { q: 'get', key: 'b/39' },
      { q: 'get', key: 'd2/f2' }, { q: 'get', key: 'd6/f299' }, { q: 'get', key: 'nope' },
      { q: 'list', prefix: '' }, { q: 'list', prefix: 'd3' }, { q: 'list', prefix: 'b' }, { q: 'list', prefix: '', opts: { recursive: false } },
      { q: 'list', prefix: 'd5', opts: { reverse: true } }, { q: 'list', prefix: 'd5', opts: { gt: true } }, { q: 'list', prefix: 'k3', opts: { gt: true } },
      { q: 'version' },
      { q: 'checkout', version: 150, queries: [{ q: 'get', key: 'k3' }, { q: 'list', prefix: 'd1' }] },
      { q: 'diff', other: 301, prefix: '' }, { q: 'diff', other: 301, prefix: 'd2' },
      { q: 'diff', other: 301, prefix: '', opts: { skipRightNull: true } }, { q: 'diff', other: 200, prefix: '', opts: { skipLeftNull: true } },
      { q: 'history', opts: { gt: 320, lt: 330 } }
    ]
  }
]

// ---------------------------------------------------------------------------------------------
// running a case

/** What an op wrote: [{key, seq}] per appended node (a del of an absent key writes nothing). */
function written (n) {
  return { key: n.key, seq: n.seq }
}

function runOp (db, op) {
  const [kind] = op
  if (kind === 'put') return call((cb) => db.put(op[1], op[2], op[3] || {}, cb)).then((n) => [written(n)])
  if (kind === 'del') return call((cb) => db.del(op[1], op[2] || {}, cb)).then((n) => (n ? [written(n)] : []))
  if (kind === 'batch') return call((cb) => db.batch(op[1], cb)).then((nodes) => (nodes || []).map(written))
  throw new Error('unknown op ' + kind)
}

async function runQuery (db, q) {
  if (process.env.HYPERPARTY_JS_DEBUG) process.stderr.write('query ' + JSON.stringify(q) + '\n')
  try {
    if (q.q === 'get') return nodeJson(await call((cb) => db.get(q.key, q.opts || {}, cb)))
    if (q.q === 'list') return (await call((cb) => db.list(q.prefix, q.opts || {}, cb))).map(nodeJson)
    if (q.q === 'version') return db.version
    if (q.q === 'history') return await collect(db.history(Object.assign({}, q.opts)), nodeJson)
    if (q.q === 'diff') return await collect(db.diff(q.other, q.prefix, q.opts || {}), (d) => ({ key: d.key, left: nodeJson(d.left), right: nodeJson(d.right) }))
    if (q.q === 'checkout') {
      const co = db.checkout(q.version)
      const answers = []
      for (const sub of q.queries) answers.push(await runQuery(co, sub))
      return answers
    }
  } catch (err) {
    return { error: err.message }
  }
  throw new Error('unknown query ' + q.q)
}

function collect (ite, map) {
  return new Promise((resolve, reject) => {
    const out = []
    ite.next(function loop (err, v) {
      if (err) return reject(err)
      if (!v) return resolve(out)
      out.push(map(v))
      ite.next(loop)
    })
  })
}

async function runCase (c, index) {
  if (process.env.HYPERPARTY_JS_DEBUG) process.stderr.write('case ' + c.name + '\n')
  determinism.reseed(100 + index, 'hypertrie-' + c.name)
  const kp = hcrypto.keyPair(fill(c.seed))
  const opts = { secretKey: kp.secretKey }
  if (c.valueEncoding) opts.valueEncoding = c.valueEncoding
  const db = hypertrie(() => ram(), kp.publicKey, opts)
  await call((cb) => db.ready(cb))
  const results = []
  for (const op of c.ops) results.push(await runOp(db, op))
  const blocks = []
  for (let i = 0; i < db.feed.length; i++) blocks.push((await call((cb) => db.feed.get(i, cb))).toString('hex'))
  const sig = await call((cb) => db.feed.signature(db.feed.length - 1, cb))
  const answers = []
  for (const q of c.queries) answers.push(await runQuery(db, q))
  return {
    name: c.name,
    seed: fill(c.seed).toString('hex'),
    publicKey: kp.publicKey.toString('hex'),
    valueEncoding: c.valueEncoding,
    ops: c.ops,
    results,
    length: db.feed.length,
    blocks,
    signature: sig.signature.toString('hex'),
    queries: c.queries,
    answers
  }
}

async function main () {
  const { values } = parse({ out: { type: 'string' } }, { usage: 'gen-hypertrie-vectors.js [--out DIR] [--timeout-ms N]' })
  const out = path.resolve(values.out || path.join(__dirname, '..', '..', 'vectors'))
  fs.mkdirSync(out, { recursive: true })
  const cases = []
  for (let i = 0; i < CASES.length; i++) cases.push(await runCase(CASES[i], i))
  const doc = {
    description: 'hypertrie@3.8.0 cases recorded by tests/interop/js/gen-hypertrie-vectors.js (see its header for the op, query and answer formats). ' +
      'Each case: a fresh db on hypercore@7.7.1 + random-access-memory, key pair from 32 x seed byte; blocks = every block of the feed after the ops (hex).',
    versions: versions(),
    cases
  }
  const name = 'hypertrie.json'
  const text = JSON.stringify(doc, null, 1) + '\n'
  fs.writeFileSync(path.join(out, name), text)
  emit({ event: 'written', dir: out, files: { [name]: crypto.createHash('sha256').update(text).digest('hex') } })
  finish(0)
}

main()
