'use strict'
/**
 * Makes the 2019 stack deterministic for vector generation (the recipe of
 * /work/shared/vectors/README.md), by patching shared module objects:
 *  - sodium-universal `randombytes_buf`: 24-byte requests (protocol nonces) are served from an
 *    explicit queue (`queueNonces`), and a request with an empty queue throws; every other size
 *    comes from a SHA-256 counter DRBG (`sha256(label || u64be(counter))` blocks).
 *  - sodium-universal `crypto_sign_keypair` becomes `crypto_sign_seed_keypair` with seeds from an
 *    explicit queue (`queueKeySeeds`); an empty queue throws.
 *  - `Math.random` becomes mulberry32, reseeded with `reseed(n)` per section (hypercore picks the
 *    next block to request at random, so this fixes the order of Request/Data frames).
 * Load this module before anything draws randomness.
 */
const crypto = require('node:crypto')
const sodium = require('sodium-universal')

const nonces = []
const keySeeds = []
let drbgCounter = 0
let drbgLabel = 'hyperparty-vectors'

function drbgFill (buf) {
  let off = 0
  while (off < buf.length) {
    const ctr = Buffer.alloc(8)
    ctr.writeBigUInt64BE(BigInt(drbgCounter++))
    const block = crypto.createHash('sha256').update(drbgLabel).update(ctr).digest()
    const n = Math.min(block.length, buf.length - off)
    block.copy(buf, off, 0, n)
    off += n
  }
}

sodium.randombytes_buf = function (buf) {
  if (buf.length === 24) {
    if (!nonces.length) throw new Error('determinism: a 24-byte nonce was drawn but none is queued')
    Buffer.from(nonces.shift()).copy(buf)
    return
  }
  drbgFill(buf)
}

const seedKeyPair = sodium.crypto_sign_seed_keypair
sodium.crypto_sign_keypair = function (pk, sk) {
  if (!keySeeds.length) throw new Error('determinism: a random key pair was made but no seed is queued')
  return seedKeyPair(pk, sk, keySeeds.shift())
}

function mulberry32 (seed) {
  let a = seed >>> 0
  return function () {
    a = (a + 0x6D2B79F5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

/** Starts a section: Math.random from mulberry32(seed), a fresh DRBG stream, empty queues. */
function reseed (seed, label = 'section-' + seed) {
  Math.random = mulberry32(seed)
  drbgCounter = 0
  drbgLabel = 'hyperparty-vectors/' + label
  nonces.length = 0
  keySeeds.length = 0
}

function queueNonces (...list) {
  for (const n of list) {
    if (n.length !== 24) throw new Error('nonce must be 24 bytes')
    nonces.push(Buffer.from(n))
  }
}

function queueKeySeeds (...list) {
  for (const s of list) keySeeds.push(Buffer.from(s))
}

function pendingNonces () {
  return nonces.length
}

module.exports = { reseed, queueNonces, queueKeySeeds, pendingNonces }
