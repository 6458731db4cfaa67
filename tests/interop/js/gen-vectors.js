'use strict'
/**
 * Regenerates OUR OWN test vectors from the real JS packages (tests/vectors/ by default):
 *   hypercore.json         hypercore 7.7.1, seed 0x01: the ten single appends of the shared vectors,
 *                          then single and batched appends; per step the tree nodes written, roots,
 *                          tree hash and stored signature; every byte of every storage file after
 *                          step 9 (= the shared vectors' final state) and at the end.
 *   protocol-session.json  hypercore-protocol 6.12.0 sessions recorded like the shared protocol.json
 *                          sessions: hypercoreNonLive, hypercoreLive (same setup as the shared ones)
 *                          and party (two lib/party.js peers, the shared party setup).
 *   party-messages.json    party AnyType encodings (lib/party-codec.js): the shared examples plus
 *                          edge cases (explicit false, empty fields, unknown type).
 * Deterministic (lib/determinism.js): running it twice gives identical files.
 *
 * usage: node gen-vectors.js [--out DIR] [--timeout-ms N]
 * stdout: one line {event:"written", files:{name: sha256}}
 */
const determinism = require('./lib/determinism') // before anything draws randomness
const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')
const crypto = require('node:crypto')
const sodium = require('sodium-universal')
const hypercore = require('hypercore')
const hcrypto = require('hypercore-crypto')
const Protocol = require('hypercore-protocol')
const messages = require('hypercore-protocol/messages')
const raf = require('random-access-file')
const ram = require('random-access-memory')
const { parse, emit, finish, call } = require('./lib/cli')
const codec = require('./lib/party-codec')
const { Party, TwoWriters } = require('./lib/party')

const STORAGE_FILES = ['key', 'secret_key', 'tree', 'data', 'bitfield', 'signatures']

// ---------------------------------------------------------------------------------------------
// helpers

function fill (byte, n = 32) {
  return Buffer.alloc(n, byte)
}

function blockInfo (buf) {
  const out = { hex: buf.toString('hex'), size: buf.length }
  const text = buf.toString('utf8')
  if (Buffer.from(text, 'utf8').equals(buf) && /^[\x20-\x7e]*$/.test(text)) out.text = text
  return out
}

function nodeJson (n) {
  return { index: n.index, hash: n.hash.toString('hex'), size: n.size }
}

function toJson (v) {
  if (v === null || v === undefined) return null
  if (Buffer.isBuffer(v) || v instanceof Uint8Array) return Buffer.from(v).toString('hex')
  if (Array.isArray(v)) return v.map(toJson)
  if (typeof v === 'object') {
    const o = {}
    for (const k of Object.keys(v)) o[k] = toJson(v[k])
    return o
  }
  return v
}

function versionOf (name) {
  return require(name + '/package.json').version
}

function versions () {
  const javascript = require('sodium-javascript')
  const backend = sodium === javascript ? 'sodium-javascript@' + versionOf('sodium-javascript') : 'sodium-native@' + versionOf('sodium-native')
  const v = {}
  for (const name of ['hypercore', 'hypercore-protocol', 'multifeed', 'hypercore-crypto', 'flat-tree', 'random-access-memory', 'random-access-file', 'sodium-universal', 'protocol-buffers-encodings']) {
    v[name] = versionOf(name)
  }
  v.node = process.version
  v.sodiumBackend = backend
  return v
}

function readStorageFiles (dir) {
  const out = {}
  for (const name of STORAGE_FILES) {
    const buf = fs.readFileSync(path.join(dir, name))
    out[name] = { size: buf.length, hex: buf.toString('hex') }
  }
  return out
}

/** Non-zero 40-byte slots of a tree file: Map index -> {index, hash, size}. */
function treeSlots (file) {
  const slots = new Map()
  if (!fs.existsSync(file)) return slots
  const buf = fs.readFileSync(file)
  for (let off = 32, i = 0; off + 40 <= buf.length; off += 40, i++) {
    const slot = buf.subarray(off, off + 40)
    if (slot.every((b) => b === 0)) continue
    slots.set(i, { index: i, hash: Buffer.from(slot.subarray(0, 32)), size: Number(slot.readBigUInt64BE(32)) })
  }
  return slots
}

function ready (feed) {
  return new Promise((resolve, reject) => {
    feed.once('error', reject)
    feed.ready(() => {
      feed.removeListener('error', reject)
      resolve()
    })
  })
}

function check (cond, message) {
  if (!cond) throw new Error('vector self-check failed: ' + message)
}

// ---------------------------------------------------------------------------------------------
// hypercore.json

const SHARED_BLOCKS = [
  Buffer.from('a'), Buffer.from('bc'), Buffer.from(''), Buffer.from('def'), Buffer.from('hello world'),
  Buffer.from('0123456789'.repeat(10)), Buffer.from('g'), Buffer.from(Array.from({ length: 256 }, (_, i) => i)),
  Buffer.from('hi'), Buffer.from('last block')
]

const OPS = [
  ...SHARED_BLOCKS.map((b) => ({ op: 'append', blocks: [b] })),
  { op: 'batch', blocks: ['x', 'yz'].map((s) => Buffer.from(s)) },
  { op: 'batch', blocks: ['', 'one', 'two!', 'three'].map((s) => Buffer.from(s)) },
  { op: 'append', blocks: [Buffer.from('z')] },
  { op: 'batch', blocks: Array.from({ length: 7 }, (_, i) => Buffer.from('p' + i)) }
]
const SHARED_OVERLAP_STEP = 9

async function appendOp (feed, op) {
  if (op.op === 'batch') return call((cb) => feed.append(op.blocks, cb))
  return call((cb) => feed.append(op.blocks[0], cb))
}

async function genHypercore () {
  determinism.reseed(1, 'hypercore')
  const seed = fill(0x01)
  const kp = hcrypto.keyPair(seed)
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hyperparty-vectors-'))
  try {
    const feed = hypercore((name) => raf(name, { directory: dir }), kp.publicKey, { secretKey: kp.secretKey })
    await ready(feed)
    const steps = []
    let checkpoint = null
    let before = treeSlots(path.join(dir, 'tree'))
    for (let s = 0; s < OPS.length; s++) {
      const op = OPS[s]
      const seq = await appendOp(feed, op)
      const after = treeSlots(path.join(dir, 'tree'))
      const newNodes = [...after.values()].filter((n) => !before.has(n.index)).sort((a, b) => a.index - b.index)
      before = after
      for (let j = 0; j < op.blocks.length; j++) {
        const leaf = after.get(2 * (seq + j))
        check(leaf && leaf.hash.equals(hcrypto.data(op.blocks[j])) && leaf.size === op.blocks[j].length, `leaf of block ${seq + j}`)
      }
      const roots = await call((cb) => feed.rootHashes(feed.length - 1, cb))
      const treeHash = hcrypto.tree(roots)
      const sig = await call((cb) => feed.signature(feed.length - 1, cb))
      check(sig.index === feed.length - 1, `signature slot of step ${s}`)
      check(hcrypto.verify(treeHash, sig.signature, kp.publicKey), `signature of step ${s}`)
      steps.push({
        step: s,
        op: op.op,
        blocks: op.blocks.map(blockInfo),
        seq,
        length: feed.length,
        byteLength: feed.byteLength,
        newNodes: newNodes.map(nodeJson),
        roots: roots.map(nodeJson),
        treeHash: treeHash.toString('hex'),
        signature: sig.signature.toString('hex'),
        signatureSlot: sig.index
      })
      if (s === SHARED_OVERLAP_STEP) checkpoint = { afterStep: s, length: feed.length, storageFiles: readStorageFiles(dir) }
    }
    await call((cb) => feed.close(cb))
    const finalNodes = [...treeSlots(path.join(dir, 'tree')).values()].map(nodeJson)
    const storageFiles = readStorageFiles(dir)

    // The same appends in memory must give the same signatures.
    const mem = hypercore(() => ram(), kp.publicKey, { secretKey: kp.secretKey })
    await ready(mem)
    for (let s = 0; s < OPS.length; s++) {
      await appendOp(mem, OPS[s])
      const sig = await call((cb) => mem.signature(mem.length - 1, cb))
      check(sig.signature.toString('hex') === steps[s].signature, `memory run signature of step ${s}`)
    }

    return {
      description: 'hypercore@7.7.1 feed from crypto_sign_seed_keypair(seed = 32 x 0x01), storage = random-access-file directory. ' +
        'Steps 0-9 are the ten single feed.append(block) calls of the shared vectors; then op "batch" = ONE feed.append([blocks]) call ' +
        '(one signature, stored in slot length-1), op "append" = one feed.append(block). newNodes = tree-file slots that became non-zero ' +
        'in that step (a batch also writes zero-filled slots for parents not yet complete). checkpoint = every storage file after step 9 ' +
        '(equal to the shared vectors\' storageFiles); storageFiles = after the last step and close(). A random-access-memory run gives ' +
        'the same signatures.',
      versions: versions(),
      seed: seed.toString('hex'),
      publicKey: kp.publicKey.toString('hex'),
      secretKey: kp.secretKey.toString('hex'),
      discoveryKey: hcrypto.discoveryKey(kp.publicKey).toString('hex'),
      steps,
      checkpoint,
      finalNodes,
      storageFiles
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true })
  }
}

// ---------------------------------------------------------------------------------------------
// protocol sessions

// Every buffer a protocol stream pushes is one frame, already encrypted: record them per stream.
const originalPush = Protocol.prototype.push
Protocol.prototype.push = function (chunk, encoding) {
  if (chunk) {
    if (!this._recorded) this._recorded = []
    this._recorded.push(Buffer.from(chunk))
  }
  return originalPush.call(this, chunk, encoding)
}

const TYPE_NAMES = ['Feed', 'Handshake', 'Info', 'Have', 'Unhave', 'Want', 'Unwant', 'Request', 'Cancel', 'Data']

function readVarint (buf, off) {
  let value = 0
  let mul = 1
  for (let i = off; i < buf.length && i < off + 8; i++) {
    value += (buf[i] & 0x7f) * mul
    mul *= 128
    if (buf[i] < 0x80) return [value, i + 1]
  }
  throw new Error('bad varint in recorded session')
}

function decodeFrames (plain, extensions) {
  const out = []
  let off = 0
  while (off < plain.length) {
    const start = off
    const [len, bodyStart] = readVarint(plain, off)
    const end = bodyStart + len
    off = end
    if (len === 0) {
      out.push({ offset: start, name: 'KeepAlive', frame: '00' })
      continue
    }
    const [header, payloadStart] = readVarint(plain, bodyStart)
    const channel = Math.floor(header / 16)
    const type = header & 15
    const payload = plain.subarray(payloadStart, end)
    const frame = plain.subarray(start, end).toString('hex')
    if (type === 15) {
      const [extIndex, dataStart] = readVarint(plain, payloadStart)
      const data = plain.subarray(dataStart, end)
      const name = extensions[extIndex] || null
      const fields = { extensionIndex: extIndex, extensionName: name, payload: data.toString('hex') }
      if (name === 'party') fields.partyMessage = toJson(codec.decodeAny(data))
      out.push({ offset: start, channel, type, name: 'Extension', fields, frame })
    } else {
      const name = TYPE_NAMES[type]
      out.push({ offset: start, channel, type, name, fields: toJson(messages[name].decode(payload)), frame })
    }
  }
  return out
}

function sideRecord (stream) {
  const chunks = stream._recorded || []
  const wire = Buffer.concat(chunks)
  const key = stream.key
  const nonce = stream._nonce
  const [firstLen, firstBody] = readVarint(wire, 0)
  const firstEnd = firstBody + firstLen
  const rest = Buffer.from(wire.subarray(firstEnd))
  const plainRest = Buffer.alloc(rest.length)
  sodium.crypto_stream_xor(plainRest, rest, nonce, key)
  const plaintext = Buffer.concat([wire.subarray(0, firstEnd), plainRest])
  const keystream = Buffer.alloc(64)
  sodium.crypto_stream(keystream, nonce, key)
  return {
    id: stream.id.toString('hex'),
    live: stream.live,
    extensions: stream.extensions,
    userData: stream.userData ? stream.userData.toString('hex') : null,
    encryptionKey: key.toString('hex'),
    discoveryKey: stream.discoveryKey.toString('hex'),
    nonce: nonce.toString('hex'),
    keystreamPrefix64: keystream.toString('hex'),
    chunks: chunks.map((c) => c.toString('hex')),
    wire: wire.toString('hex'),
    plaintext: plaintext.toString('hex'),
    messages: decodeFrames(plaintext, stream.extensions)
  }
}

/** Pipes two streams together and resolves once both readable sides ended (or one errored). */
function runPair (sa, sb) {
  return new Promise((resolve) => {
    let ends = 0
    let error = null
    const onEnd = () => { if (++ends === 2) resolve(error) }
    for (const s of [sa, sb]) {
      s.once('end', onEnd)
      s.once('error', (err) => {
        if (!error) error = err
        resolve(error)
      })
    }
    sa.pipe(sb).pipe(sa)
  })
}

async function writerAndClone (seedByte, blocks) {
  const kp = hcrypto.keyPair(fill(seedByte))
  const a = hypercore(() => ram(), kp.publicKey, { secretKey: kp.secretKey })
  await ready(a)
  for (const b of blocks) await call((cb) => a.append(Buffer.from(b), cb))
  const b = hypercore(() => ram(), kp.publicKey)
  await ready(b)
  return { a, b }
}

async function cloneBlocks (feed) {
  const out = []
  for (let i = 0; i < feed.length; i++) out.push(feed.has(i) ? (await call((cb) => feed.get(i, { wait: false }, cb))).toString('utf8') : null)
  return out
}

async function sessionNonLive () {
  determinism.reseed(2, 'hypercoreNonLive')
  const { a, b } = await writerAndClone(0x01, ['a', 'b', 'c'])
  determinism.queueNonces(fill(0x33, 24))
  const sa = a.replicate({ id: fill(0x11) })
  determinism.queueNonces(fill(0x44, 24))
  const sb = b.replicate({ id: fill(0x22) })
  check(determinism.pendingNonces() === 0, 'non-live nonces drawn')
  const error = await runPair(sa, sb)
  return {
    description: 'a.replicate({id: 11..11}) <-> b.replicate({id: 22..22}), non-live; a = writer (seed 0x01, blocks "a","b","c" appended one by one), ' +
      'b = empty clone over random-access-memory. sa.pipe(sb).pipe(sa) in one process. Nonces 33..33 (A) and 44..44 (B). Math.random = mulberry32(2).',
    sides: { A: sideRecord(sa), B: sideRecord(sb) },
    result: { error: error ? error.message : null, cloneLength: b.length, cloneBlocks: await cloneBlocks(b) }
  }
}

async function sessionLive () {
  determinism.reseed(3, 'hypercoreLive')
  const { a, b } = await writerAndClone(0x01, ['a', 'b'])
  determinism.queueNonces(fill(0x55, 24))
  const sa = a.replicate({ id: fill(0x11), live: true })
  determinism.queueNonces(fill(0x66, 24))
  const sb = b.replicate({ id: fill(0x22), live: true })
  let appended = false
  b.on('download', () => {
    if (!appended && b.downloaded(0, 2) === 2) {
      appended = true
      a.append(Buffer.from('c'))
    } else if (appended && b.length === 3 && b.downloaded(0, 3) === 3) {
      setTimeout(() => sa.finalize(), 20)
    }
  })
  const error = await runPair(sa, sb)
  return {
    description: 'live: a.replicate({id: 11..11, live: true}) <-> b.replicate({id: 22..22, live: true}); a (seed 0x01) has "a","b"; ' +
      'once b holds both, a appends "c"; 20 ms after b holds it, sa.finalize(). Nonces 55..55 (A), 66..66 (B). Math.random = mulberry32(3).',
    sides: { A: sideRecord(sa), B: sideRecord(sb) },
    result: { error: error ? error.message : null, cloneLength: b.length }
  }
}

async function sessionParty () {
  determinism.reseed(4, 'party')
  const partyKey = fill(0xaa)
  const mk = async (name, seedByte, blocks) => {
    const kp = hcrypto.keyPair(fill(seedByte))
    const local = hypercore(() => ram(), kp.publicKey, { secretKey: kp.secretKey })
    await ready(local)
    for (const b of blocks) await call((cb) => local.append(Buffer.from(b), cb))
    const party = new Party({ partyKey, rules: null, live: true, name })
    const readers = []
    party.rules = new TwoWriters({
      localFeed: local,
      party,
      openReader: async (key) => {
        const f = hypercore(() => ram(), key)
        await ready(f)
        readers.push(f)
        return f
      }
    })
    const events = []
    party.on('event', (e) => events.push(e))
    return { party, local, readers, events }
  }
  const alice = await mk('alice', 0x06, ['alice 0', 'alice 1'])
  const bob = await mk('bob', 0x07, ['bob 0'])

  determinism.queueNonces(fill(0x99, 24))
  const sa = alice.party.replicate({ id: fill(0x11) })
  determinism.queueNonces(fill(0xbb, 24))
  const sb = bob.party.replicate({ id: fill(0x22) })
  check(determinism.pendingNonces() === 0, 'party nonces drawn')

  const answers = { alice: 0, bob: 0 }
  function onHandshake (side, other) {
    side.party.on('event', (e) => {
      if (e.event !== 'party-handshake') return
      const peer = side.party.peers[0]
      peer.sendEphemeralMessage({ type: 'text', value: Buffer.from('ephemeral from ' + side.party.name) })
      if (side === alice) {
        const tx = peer.request({ type: 'text', value: Buffer.from('ping') })
        tx.answer.then((m) => {
          side.events.push({ event: 'request-answer', peer: 0, id: tx.id, type: m.type, value: m.value.toString('utf8'), valueHex: m.value.toString('hex') })
          answers.alice++
          maybeEnd()
        })
      }
    })
  }
  onHandshake(alice, bob)
  onHandshake(bob, alice)
  for (const side of [alice, bob]) {
    side.party.on('event', (e) => {
      if (e.event === 'introduce-feeds-ack') {
        answers[side.party.name]++
        maybeEnd()
      }
      if (e.event === 'reader') {
        const f = side.readers[side.readers.length - 1]
        f.on('download', maybeEnd)
      }
    })
  }
  let ending = false
  function holds (side, other) {
    const f = side.readers.find((r) => r.key.equals(other.local.key))
    return f && f.length === other.local.length && f.downloaded(0, f.length) === f.length
  }
  function maybeEnd () {
    if (ending) return
    if (answers.alice < 2 || answers.bob < 1 || !holds(alice, bob) || !holds(bob, alice)) return
    ending = true
    setTimeout(() => sa.finalize(), 20)
  }
  const error = await runPair(sa, sb)
  return {
    description: 'two lib/party.js peers ("two writers" rules, our re-creation of party-0.1.md) in one process: partyKey = 32 x 0xaa; ' +
      'A = alice {protocol id 11.., local feed seed 0x06 with "alice 0","alice 1", nonce 99..}, B = bob {id 22.., feed seed 0x07 with "bob 0", ' +
      'nonce bb..}; live; transaction ids "<name>-tx-<n>". After its party handshake each side sends EphemeralMessage text ' +
      '"ephemeral from <name>"; alice also sends Request {type: "text", value: "ping"} (answered {type: "echo", value: "ping"}). ' +
      'A finalize()s 20 ms after both hold the other\'s blocks and all transactions are answered. Math.random = mulberry32(4).',
    sides: { A: sideRecord(sa), B: sideRecord(sb) },
    result: {
      error: error ? error.message : null,
      aliceKey: alice.local.key.toString('hex'),
      bobKey: bob.local.key.toString('hex'),
      aliceEvents: alice.events,
      bobEvents: bob.events
    }
  }
}

async function genSessions () {
  return {
    description: 'hypercore-protocol@6.12.0 sessions recorded from the real JS stack like the shared protocol.json sessions: per side id, nonce, ' +
      'encryptionKey (the first channel key, which keys XSalsa20), keystreamPrefix64, chunks (each buffer the side pushed = one frame, ' +
      'encrypted), wire (their concatenation), plaintext (wire with everything after the first frame XORed with crypto_stream_xor(nonce, key)) ' +
      'and messages (plaintext frames decoded with hypercore-protocol/messages.js; extension frames with the sender\'s extension name and, ' +
      'for "party", the decoded AnyType). Hypercore picks blocks at random, so Request/Data order is one valid order, not the only one.',
    versions: versions(),
    sessions: {
      hypercoreNonLive: await sessionNonLive(),
      hypercoreLive: await sessionLive(),
      party: await sessionParty()
    }
  }
}

// ---------------------------------------------------------------------------------------------
// party-messages.json

function genPartyMessages () {
  const k1 = fill(0x01)
  const k2 = fill(0x02)
  const cases = [
    ['IntroduceFeedsRequest', 'IntroduceFeeds', { transaction: { id: 'tx-1' }, keys: [k1, k2] }, 'shared vectors partyMessages.IntroduceFeedsRequest'],
    ['IntroduceFeedsAnswer', 'IntroduceFeeds', { transaction: { id: 'tx-1', return: true }, keys: [] }, 'shared vectors partyMessages.IntroduceFeedsAnswer: empty keys are not written'],
    ['RequestRequest', 'Request', { transaction: { id: 'tx-2' }, type: 'text', value: Buffer.from('ping') }, 'shared vectors partyMessages.RequestRequest'],
    ['RequestAnswer', 'Request', { transaction: { id: 'tx-2', return: true }, type: 'echo', value: Buffer.from('ping') }, 'shared vectors partyMessages.RequestAnswer'],
    ['EphemeralMessage', 'EphemeralMessage', { type: 'text', value: Buffer.from('hi') }, 'shared vectors partyMessages.EphemeralMessage'],
    ['TransactionReturnFalse', 'IntroduceFeeds', { transaction: { id: 'a-tx-1', return: false }, keys: [k1] }, 'an explicit return:false is written (10 00)'],
    ['IntroduceFeedsEmpty', 'IntroduceFeeds', {}, 'no transaction, no keys: empty inner message'],
    ['RequestEmptyStrings', 'Request', { transaction: { id: '' }, type: '', value: Buffer.alloc(0) }, 'present but empty string/bytes fields are written with length 0'],
    ['EphemeralBinary', 'EphemeralMessage', { type: 'bin', value: Buffer.from([0, 1, 2, 0xff, 0x80]) }, 'binary value'],
    ['EphemeralUnicode', 'EphemeralMessage', { type: 'chat', value: Buffer.from('h\u00e9llo \u{1F600}', 'utf8') }, 'utf8 value'],
    ['RequestLongValue', 'Request', { transaction: { id: 'x' }, type: 't', value: Buffer.alloc(200, 0x61) }, 'a value over 127 bytes (2-byte length varint)']
  ]
  const messagesOut = {}
  for (const [name, type, message, note] of cases) {
    const encoded = codec.encodeAny(type, message)
    const back = codec.decodeAny(encoded)
    check(back.type === type, name + ' round trip type')
    check(codec.encodeAny(type, back.message).equals(encoded) || name === 'IntroduceFeedsEmpty' || name === 'IntroduceFeedsAnswer', name + ' round trip bytes')
    messagesOut[name] = { note, type, message: toJson(message), encoded: encoded.toString('hex'), inner: codec.encode(codec.SCHEMAS[type], message).toString('hex') }
  }
  // Decoder tolerance: unknown AnyType.type, unknown fields, reordered fields.
  const unknownType = codec.encode(codec.SCHEMAS.AnyType, { type: 'Unknown', value: Buffer.from([0x08, 0x01]) })
  const withUnknownField = Buffer.concat([Buffer.from(codec.encodeAny('EphemeralMessage', { type: 'text', value: Buffer.from('hi') })), Buffer.from([0x18, 0x05])])
  const innerReordered = Buffer.from('12026869' + '0a0474657874', 'hex') // value before type
  const reordered = codec.encode(codec.SCHEMAS.AnyType, { type: 'EphemeralMessage', value: innerReordered })
  const decodeCases = {
    UnknownType: { note: 'an unknown AnyType.type is passed over (message null)', encoded: unknownType.toString('hex'), decoded: toJson(codec.decodeAny(unknownType)) },
    UnknownOuterField: { note: 'unknown field 3 (varint) on AnyType is skipped', encoded: withUnknownField.toString('hex'), decoded: toJson(codec.decodeAny(withUnknownField)) },
    ReorderedFields: { note: 'fields in any order decode the same', encoded: reordered.toString('hex'), decoded: toJson(codec.decodeAny(reordered)) }
  }
  return {
    description: 'Wireline party messages as party-extension payloads: AnyType{type: <name>, value: <inner message>} (party-0.1.md), encoded by ' +
      'tests/interop/js/lib/party-codec.js (protobufjs field rules: fields in number order, written when present, explicit false and empty ' +
      'values included, repeated fields one entry each). Bytes fields are hex in `message`. `inner` = the encoded inner message alone. ' +
      'The first five equal the shared vectors partyMessages.',
    versions: versions(),
    messages: messagesOut,
    decoding: decodeCases
  }
}

// ---------------------------------------------------------------------------------------------

async function main () {
  const { values } = parse({ out: { type: 'string' } }, { usage: 'gen-vectors.js [--out DIR] [--timeout-ms N]' })
  const out = path.resolve(values.out || path.join(__dirname, '..', '..', 'vectors'))
  fs.mkdirSync(out, { recursive: true })
  const docs = {
    'hypercore.json': await genHypercore(),
    'protocol-session.json': await genSessions(),
    'party-messages.json': genPartyMessages()
  }
  const files = {}
  for (const [name, doc] of Object.entries(docs)) {
    const text = JSON.stringify(doc, null, 2) + '\n'
    fs.writeFileSync(path.join(out, name), text)
    files[name] = crypto.createHash('sha256').update(text).digest('hex')
  }
  emit({ event: 'written', dir: out, files })
  finish(0)
}

main()
