'use strict'
/**
 * Regenerates tests/vectors/hyperdrive.json from the real hyperdrive 9.16.0 (append-tree 2.4.4,
 * hypercore 7.7.1) on random-access-memory.
 *
 * Metadata key pair from seed 32 x 0x03 (as the shared vectors), so the content key pair is the same.
 * Every operation passes mtime/ctime = new Date(1546300800000). The first four operations are the
 * shared vectors' ones (their blocks must come out identical). Then: nested directories, overwrite,
 * an empty file, files of several 64 KiB content blocks, mkdir with mode/uid/gid, rmdir, unlink
 * (including the delete that drops a still-populated branch), a createWriteStream whose chunks are
 * kept as blocks, paths JS normalises, and UTF-8 names.
 *
 * Data: {"text": s} (UTF-8) or {"pattern": {"size": n, "seed": s}} = bytes (i * 31 + seed * 7) & 255.
 * Per operation: the version after it and the metadata/content blocks it appended. Content blocks
 * over 256 bytes are recorded as size + sha256 only.
 * Answers: readdir / stat / readFile / exists after the last operation (an error is null), the
 * history, answers of checkouts at several versions, and normalizePath for a list of inputs.
 * Deterministic (lib/determinism.js): two runs give identical files.
 *
 * usage: node gen-hyperdrive-vectors.js [--out DIR] [--timeout-ms N]
 * stdout: one line {event:"written", files:{name: sha256}}
 */
const determinism = require('./lib/determinism') // before anything draws randomness
const fs = require('node:fs')
const path = require('node:path')
const crypto = require('node:crypto')
const sodium = require('sodium-universal')
const hyperdrive = require('hyperdrive')
const hcrypto = require('hypercore-crypto')
const ram = require('random-access-memory')
const unixify = require('unixify')
const { parse, emit, finish, call } = require('./lib/cli')
const { runOp, statJson } = require('./hyperdrive-common')

const TIME = 1546300800000

function fill (byte, n = 32) {
  return Buffer.alloc(n, byte)
}

const OPS = [
  ['writeFile', '/hello.txt', { text: 'world' }],
  ['mkdir', '/d'],
  ['writeFile', '/d/x', { text: 'y' }],
  ['unlink', '/hello.txt'],
  ['writeFile', '/d/e/f/deep.txt', { text: 'deep' }],
  ['writeFile', '/d/x', { text: 'overwritten' }],
  ['writeFile', '/empty', { text: '' }],
  ['writeFile', '/big.bin', { pattern: { size: 150000, seed: 1 } }],
  ['writeFile', '/exact64k.bin', { pattern: { size: 65536, seed: 2 } }],
  ['mkdir', '/tmp', { mode: 0o700, uid: 1000, gid: 100 }],
  ['rmdir', '/tmp'],
  ['writeFile', '/a/b/c', { text: '1' }, { mode: 0o600, uid: 7, gid: 8 }],
  ['writeFile', '/a/b2', { text: '2' }],
  ['unlink', '/a/b/c'],
  ['writeStream', '/stream.txt', [{ text: 'ab' }, { text: 'cde' }, { pattern: { size: 70000, seed: 3 } }, { text: 'f' }]],
  ['writeFile', '/q/e/f', { text: 'f' }],
  ['writeFile', '/q/e/g', { text: 'g' }],
  ['unlink', '/q/e/g'],
  ['writeFile', '/q/h', { text: 'h' }],
  ['writeFile', '/k', { text: 'k' }],
  ['unlink', '/q/h'], // JS drops /q (and the live /q/e/f) from the root listing here
  ['writeFile', '/sub dir/name with spaces.txt', { text: 's' }],
  ['writeFile', '/unicodé/ñ.txt', { text: 'ü' }],
  ['writeFile', 'x//y/./z/', { text: 'normalised' }],
  ['writeFile', '/back\\slash', { text: 'b' }],
  ['unlink', '/d/e/f/deep.txt'],
  ['mkdir', '/d/empty-dir'],
  ['writeFile', '/d/x', { pattern: { size: 131072, seed: 4 } }]
]

const DIRS = ['/', '/d', '/d/e', '/d/e/f', '/d/empty-dir', '/a', '/a/b', '/q', '/q/e', '/x', '/x/y', '/sub dir', '/unicodé', '/back', '/tmp', '/nope']
const PATHS = [
  '/d/x', '/d', '/d/e', '/d/e/f/deep.txt', '/empty', '/big.bin', '/exact64k.bin', '/tmp', '/a/b/c', '/a/b2', '/a/b',
  '/stream.txt', '/q/e/f', '/q/e', '/q', '/k', '/sub dir/name with spaces.txt', '/unicodé/ñ.txt', '/x/y/z', '/back/slash',
  '/d/empty-dir', '/hello.txt', '/'
]
const CHECKOUTS = [0, 1, 4, 8, 11, 14, 20, 21]
const NORMALIZE = [
  '', '/', 'a', '/a/', 'a/b/', '//a//b//', './a', 'a/./b', 'a/../b', '/../a', '../../a', 'a/..', 'a\\b', 'a\\..\\b',
  '\\a\\', 'a/\\/b', '/a/b/..', '.', '..', 'C:\\x', 'c:/x', '/./', 'a b/c', 'ü/ñ'
]

function blockInfo (buf) {
  if (buf.length > 256) return { size: buf.length, sha256: crypto.createHash('sha256').update(buf).digest('hex') }
  const out = { hex: buf.toString('hex'), size: buf.length }
  const text = buf.toString('utf8')
  if (Buffer.from(text, 'utf8').equals(buf) && /^[\x20-\x7e]*$/.test(text)) out.text = text
  return out
}

function nodeJson (n) {
  return { index: n.index, hash: n.hash.toString('hex'), size: n.size }
}

function versionOf (name) {
  return require(name + '/package.json').version
}

function versions () {
  const javascript = require('sodium-javascript')
  const backend = sodium === javascript ? 'sodium-javascript@' + versionOf('sodium-javascript') : 'sodium-native@' + versionOf('sodium-native')
  const v = {}
  for (const name of ['hyperdrive', 'append-tree', 'hypercore', 'hypercore-crypto', 'random-access-memory', 'sodium-universal', 'unixify']) {
    v[name] = versionOf(name)
  }
  v.node = process.version
  v.sodiumBackend = backend
  return v
}

async function feedBlocks (feed, start, end) {
  const out = []
  for (let i = start; i < end; i++) out.push(await call((cb) => feed.get(i, cb)))
  return out
}

async function orNull (promise, encode = (x) => x) {
  try {
    return encode(await promise)
  } catch (err) {
    return null
  }
}

function readFileJson (buf) {
  return blockInfo(buf)
}

async function answers (drive) {
  const out = { readdir: {}, stat: {}, readFile: {}, exists: {} }
  for (const d of DIRS) out.readdir[d] = await orNull(call((cb) => drive.readdir(d, cb)))
  for (const p of PATHS) {
    out.stat[p] = await orNull(call((cb) => drive.stat(p, cb)), statJson)
    out.exists[p] = await new Promise((resolve) => drive.exists(p, resolve))
    const st = out.stat[p]
    if (st && st.isFile) out.readFile[p] = await orNull(call((cb) => drive.readFile(p, cb)), readFileJson)
  }
  return out
}

async function gen () {
  determinism.reseed(9, 'hyperdrive')
  const kp = hcrypto.keyPair(fill(0x03))
  const drive = hyperdrive((name) => ram(), kp.publicKey, { secretKey: kp.secretKey })
  await call((cb) => drive.ready(cb))
  const md = drive.metadata
  const steps = []
  for (const op of OPS) {
    const mdBefore = md.length
    const cBefore = drive.content.length
    await runOp(drive, op, TIME)
    steps.push({
      op,
      version: drive.version,
      metadata: (await feedBlocks(md, mdBefore, md.length)).map((b) => b.toString('hex')),
      content: (await feedBlocks(drive.content, cBefore, drive.content.length)).map(blockInfo)
    })
  }
  const feeds = {}
  for (const [label, feed] of [['metadata', md], ['content', drive.content]]) {
    const roots = await call((cb) => feed.rootHashes(feed.length - 1, cb))
    const sig = await call((cb) => feed.signature(feed.length - 1, cb))
    feeds[label] = {
      key: feed.key.toString('hex'),
      discoveryKey: feed.discoveryKey.toString('hex'),
      length: feed.length,
      byteLength: feed.byteLength,
      roots: roots.map(nodeJson),
      treeHash: hcrypto.tree(roots).toString('hex'),
      signature: sig.signature.toString('hex')
    }
  }
  const history = await new Promise((resolve, reject) => {
    const list = []
    drive.history().on('data', (d) => list.push({ type: d.type, version: d.version, name: d.name }))
      .on('end', () => resolve(list)).on('error', reject)
  })
  const checkouts = {}
  for (const v of CHECKOUTS) {
    const co = drive.checkout(v)
    checkouts[v] = await answers(co)
  }
  const final = await answers(drive)
  const normalize = {}
  for (const p of NORMALIZE) normalize[p] = unixify(path.posix.resolve('/', p))
  await call((cb) => drive.close(cb))
  return {
    description: 'hyperdrive@9.16.0 (append-tree@2.4.4, hypercore@7.7.1) on random-access-memory. Metadata key pair from seed ' +
      '32 x 0x03 (the shared vectors\' drive); every operation passes mtime = ctime = new Date(1546300800000). ' +
      'steps[i]: op, the drive version after it, the metadata blocks it appended (hex) and the content blocks (hex, or size + sha256 ' +
      'over 256 bytes). Data: {text} = UTF-8, {pattern: {size, seed}} = bytes (i * 31 + seed * 7) & 255. writeFile splits into ' +
      '65536-byte blocks; writeStream = createWriteStream, one block per written chunk. answers / checkouts[version]: readdir, stat ' +
      '(JS Stat fields, times in ms, isFile/isDirectory), readFile (as content blocks are recorded), exists; null = the call failed. ' +
      'normalize: hyperdrive\'s normalizePath = unixify(path.posix.resolve("/", p)).',
    versions: versions(),
    seed: fill(0x03).toString('hex'),
    time: TIME,
    steps,
    feeds,
    history,
    answers: final,
    checkouts,
    normalize
  }
}

async function main () {
  const { values } = parse({ out: { type: 'string' } }, { usage: 'gen-hyperdrive-vectors.js [--out DIR] [--timeout-ms N]' })
  const out = values.out || path.join(__dirname, '..', '..', 'vectors')
  fs.mkdirSync(out, { recursive: true })
  const doc = await gen()
  const text = JSON.stringify(doc, null, 2) + '\n'
  fs.writeFileSync(path.join(out, 'hyperdrive.json'), text)
  emit({ event: 'written', files: { 'hyperdrive.json': crypto.createHash('sha256').update(text).digest('hex') } })
  finish(0)
}

main()
