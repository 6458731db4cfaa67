'use strict'
/**
 * hypertrie 3.8.0 helpers shared by the hypertrie-*.js scripts: open a db on a directory
 * (random-access-file: the hypercore files at the directory root, as `hypertrie(dir)` lays them out) or
 * in memory, fill it with generated keys, and report entries as JSON (values as hex: no valueEncoding,
 * so values are the raw bytes).
 */
const hypertrie = require('hypertrie')
const hcrypto = require('hypercore-crypto')
const { storageFor } = require('./feeds')
const { call } = require('./cli')

/** Opens a db: `seed` (32 B) gives the key pair, else `key` (a reader), else the stored/new one. */
async function openTrie ({ dir = null, seed = null, key = null, sparse = false }) {
  const opts = { sparse }
  if (seed) {
    const kp = hcrypto.keyPair(seed)
    key = kp.publicKey
    opts.secretKey = kp.secretKey
  }
  const db = key ? hypertrie(storageFor(dir), key, opts) : hypertrie(storageFor(dir), opts)
  await call((cb) => db.ready(cb))
  return db
}

/** The generated key/value of entry i (what the Python tests generate too). */
function generated (i) {
  return { key: `key/${i % 10}/${i}`, value: Buffer.from(`value ${i}`) }
}

/** Puts generated entries [from, to) in batches of `batchSize`. */
async function fill (db, from, to, batchSize = 500) {
  for (let i = from; i < to; i += batchSize) {
    const ops = []
    for (let j = i; j < Math.min(to, i + batchSize); j++) ops.push(Object.assign({ type: 'put' }, generated(j)))
    await call((cb) => db.batch(ops, cb))
  }
}

function entryJson (node) {
  if (!node) return null
  return { key: node.key, value: node.value ? Buffer.from(node.value).toString('hex') : null, seq: node.seq }
}

/** Every entry under `prefix`, sorted by key. */
async function listSorted (db, prefix = '') {
  const nodes = await call((cb) => db.list(prefix, cb))
  return nodes.map(entryJson).sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0))
}

module.exports = { openTrie, generated, fill, entryJson, listSorted }
