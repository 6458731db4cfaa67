'use strict'
/**
 * Opens a hypercore 7.7.1 feed from DIR (random-access-file) and verifies it.
 *
 * usage: node core-read.js --dir DIR [--key HEX32] [--no-audit]
 * Checks, in order:
 *   1. feed.audit(): every stored block re-hashed against its leaf node in `tree` (JS fixes the data
 *      bits of bad blocks, so this may rewrite `bitfield`; --no-audit skips it).
 *   2. every stored block verified like a remote would: full proof (digest 0) -> roots -> Ed25519
 *      signature over tree(roots) with the feed key.
 *   3. the signature in slot length-1 verifies over rootHashes(length-1) (feed.verify).
 * stdout: one line {key, discoveryKey, length, byteLength, writable, audit:{valid,invalid}|null,
 *   proofs:{verified, failed}, signature: hex|null, signatureVerified: bool|null,
 *   blocks:[hex|null], sha256}
 * Exit 4 (after printing) when any check fails, with the reasons on stderr.
 */
const fs = require('node:fs')
const path = require('node:path')
const { parse, emit, fail, finish, hexArg, call, UsageError, EXIT_VERIFY } = require('./lib/cli')
const { openFeed, readBlocks, verifyBlock, sha256, hexOrNull, closeFeed } = require('./lib/feeds')

const USAGE = 'core-read.js --dir DIR [--key HEX32] [--no-audit] [--timeout-ms N]'

async function main () {
  const { values } = parse({
    dir: { type: 'string' },
    key: { type: 'string' },
    'no-audit': { type: 'boolean' }
  }, { usage: USAGE })
  if (!values.dir) throw new UsageError('--dir is required')
  const key = hexArg(values.key, '--key', 32)
  if (!fs.existsSync(path.join(values.dir, 'tree'))) throw new Error('No hypercore is stored here: ' + path.join(values.dir, 'tree') + ' does not exist')

  const feed = await openFeed({ dir: values.dir, key, createIfMissing: false })
  const problems = []

  const audit = values['no-audit'] ? null : await call((cb) => feed.audit(cb))
  if (audit && audit.invalid) problems.push(`audit: ${audit.invalid} block(s) do not match their leaf hash`)

  const blocks = await readBlocks(feed)
  const proofs = { verified: 0, failed: 0 }
  for (let i = 0; i < blocks.length; i++) {
    if (!blocks[i]) continue
    const res = await verifyBlock(feed, i, blocks[i])
    if (res.ok) proofs.verified++
    else {
      proofs.failed++
      problems.push(res.error)
    }
  }

  let signature = null
  let signatureVerified = null
  if (feed.length > 0) {
    try {
      const sig = await call((cb) => feed.signature(feed.length - 1, cb))
      signature = sig.signature
      if (sig.index !== feed.length - 1) throw new Error(`no signature in slot ${feed.length - 1} (next one is ${sig.index})`)
      signatureVerified = await call((cb) => feed.verify(feed.length - 1, sig.signature, cb))
    } catch (err) {
      signatureVerified = false
      problems.push('signature of length ' + feed.length + ': ' + err.message)
    }
  }

  emit({
    key: feed.key.toString('hex'),
    discoveryKey: feed.discoveryKey.toString('hex'),
    length: feed.length,
    byteLength: feed.byteLength,
    writable: feed.writable,
    audit,
    proofs,
    signature: hexOrNull(signature),
    signatureVerified,
    blocks: blocks.map(hexOrNull),
    sha256: sha256(blocks)
  })
  await closeFeed(feed)
  if (problems.length) fail('verification failed: ' + problems.join('; '), EXIT_VERIFY)
  else finish(0)
}

main()
