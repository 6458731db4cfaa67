'use strict'
/**
 * Writes blocks to a hypercore 7.7.1 feed stored in DIR (random-access-file).
 *
 * usage: node core-write.js --dir DIR [--seed HEX32] [--batch] [--blocks-hex H1,H2,...] [BLOCK ...]
 *        node core-write.js --dir DIR [--seed HEX32] --ops-hex "G1;G2;..."
 *   --seed     key pair = crypto_sign_seed_keypair(seed); without it an existing feed in DIR is
 *              reopened (its stored keys) or a random key pair is made.
 *   --batch    append all blocks in ONE append() call (one signature); default: one call per block.
 *   BLOCK      utf8 blocks; or --blocks-hex, each comma-separated item one block ("" item = empty block).
 *   --ops-hex  a sequence of append calls: groups separated by ";", each group comma-separated hex
 *              blocks; a one-block group is append(block), a longer group one batch append([...]).
 * stdout: one line {key, discoveryKey, length, byteLength, writable, appended, firstSeq}
 */
const { parse, emit, finish, hexArg, blocksArg, UsageError } = require('./lib/cli')
const { openFeed, append, closeFeed } = require('./lib/feeds')

const USAGE = 'core-write.js --dir DIR [--seed HEX32] ([--batch] [--blocks-hex H1,H2,...] [BLOCK ...] | --ops-hex "G1;G2") [--timeout-ms N]'

async function main () {
  const { values, positionals } = parse({
    dir: { type: 'string' },
    seed: { type: 'string' },
    batch: { type: 'boolean' },
    'blocks-hex': { type: 'string' },
    'ops-hex': { type: 'string' }
  }, { allowPositionals: true, usage: USAGE })
  if (!values.dir) throw new UsageError('--dir is required')
  const seed = hexArg(values.seed, '--seed', 32)
  let ops
  if (values['ops-hex'] !== undefined) {
    if (values.batch || values['blocks-hex'] !== undefined || positionals.length) throw new UsageError('--ops-hex excludes --batch, --blocks-hex and BLOCK arguments')
    ops = values['ops-hex'].split(';').map((g) => blocksArg({ hexList: g }))
  } else {
    const list = blocksArg({ hexList: values['blocks-hex'], utf8List: positionals })
    ops = values.batch ? (list.length ? [list] : []) : list.map((b) => [b])
  }
  const blocks = ops.flat()

  const feed = await openFeed({ dir: values.dir, seed })
  if (blocks.length && !feed.writable) throw new Error('feed in ' + values.dir + ' is not writable (no secret key)')
  let firstSeq = null
  for (const op of ops) {
    const seq = await append(feed, op.length === 1 ? op[0] : op)
    if (firstSeq === null) firstSeq = seq
  }
  const out = {
    key: feed.key.toString('hex'),
    discoveryKey: feed.discoveryKey.toString('hex'),
    length: feed.length,
    byteLength: feed.byteLength,
    writable: feed.writable,
    appended: blocks.length,
    firstSeq
  }
  await closeFeed(feed)
  emit(out)
  finish(0)
}

main()
