'use strict'
/**
 * hypercore 7.7.1 helpers shared by the scripts: open a feed on a directory (random-access-file,
 * the layout of hypercore-7.md §5) or in memory, key pairs from 32-byte seeds, reading blocks back,
 * and independent verification of a block against a signed tree (proof recomputation).
 */
const crypto = require('node:crypto')
const hypercore = require('hypercore')
const hcrypto = require('hypercore-crypto')
const flat = require('flat-tree')
const raf = require('random-access-file')
const ram = require('random-access-memory')
const { call } = require('./cli')

/** `dir` -> a storage function writing <dir>/<name>; null -> random-access-memory. */
function storageFor (dir) {
  if (!dir) return (name) => ram()
  return (name) => raf(name, { directory: dir })
}

/**
 * Opens (or creates) a feed. `seed` (32 B) gives the key pair; otherwise `key` (read-only unless the
 * directory holds the secret key), otherwise a stored key, otherwise a new random key pair.
 */
async function openFeed ({ dir = null, seed = null, key = null, sparse = false, createIfMissing = true }) {
  let secretKey = null
  if (seed) {
    const kp = hcrypto.keyPair(seed)
    if (key && !key.equals(kp.publicKey)) throw new Error('--key does not match the key pair of --seed')
    key = kp.publicKey
    secretKey = kp.secretKey
  }
  const opts = { sparse, createIfMissing }
  if (secretKey) opts.secretKey = secretKey
  const feed = key ? hypercore(storageFor(dir), key, opts) : hypercore(storageFor(dir), opts)
  await new Promise((resolve, reject) => {
    feed.once('error', reject)
    feed.ready(() => {
      feed.removeListener('error', reject)
      resolve()
    })
  })
  return feed
}

function append (feed, data) {
  return call((cb) => feed.append(data, cb))
}

function getBlock (feed, index) {
  return call((cb) => feed.get(index, { wait: false }, cb))
}

/** Blocks 0..length-1 as Buffers, null where the block is not stored locally. */
async function readBlocks (feed) {
  const out = []
  for (let i = 0; i < feed.length; i++) out.push(feed.has(i) ? await getBlock(feed, i) : null)
  return out
}

function sha256 (buffers) {
  const h = crypto.createHash('sha256')
  for (const b of buffers) if (b) h.update(b)
  return h.digest('hex')
}

function hexOrNull (buf) {
  return buf ? buf.toString('hex') : null
}

function closeFeed (feed) {
  return call((cb) => feed.close(cb))
}

/**
 * Verifies block `index` with `data` the way a remote receiver would, from a full proof built by the
 * feed (`feed.proof(index)` with digest 0): hash the leaf, climb with the proof's sibling nodes,
 * complete the roots of `fullRoots(verifiedBy)` from the remaining proof nodes, and check the Ed25519
 * signature over `tree(roots)` with the feed key. Returns {ok, error, verifiedLength}.
 */
async function verifyBlock (feed, index, data) {
  let proof
  try {
    proof = await call((cb) => feed.proof(index, { digest: 0 }, cb))
  } catch (err) {
    return { ok: false, error: err.message }
  }
  const nodes = proof.nodes.slice()
  let top = { index: 2 * index, hash: hcrypto.data(data), size: data.length }
  while (nodes.length && nodes[0].index === flat.sibling(top.index)) {
    const sib = nodes.shift()
    top = { index: flat.parent(top.index), hash: hcrypto.parent(top, sib), size: top.size + sib.size }
  }
  const last = nodes.length ? nodes[nodes.length - 1].index : top.index
  const verifiedBy = Math.max(flat.rightSpan(top.index), flat.rightSpan(last)) + 2
  const roots = []
  for (const r of flat.fullRoots(verifiedBy)) {
    if (r === top.index) roots.push(top)
    else if (nodes.length && nodes[0].index === r) roots.push(nodes.shift())
    else return { ok: false, error: `proof for block ${index} lacks root ${r}` }
  }
  if (nodes.length) return { ok: false, error: `proof for block ${index} has unused nodes` }
  if (!proof.signature) return { ok: false, error: `proof for block ${index} has no signature` }
  const ok = hcrypto.verify(hcrypto.tree(roots), proof.signature, feed.key)
  return { ok, error: ok ? null : `signature over the roots of block ${index} does not verify`, verifiedLength: verifiedBy / 2 }
}

module.exports = { storageFor, openFeed, append, getBlock, readBlocks, sha256, hexOrNull, closeFeed, verifyBlock }
