'use strict'
/**
 * Writes a hypertrie 3.8.0 db (random-access-file directory or memory) and reports what it holds.
 *
 * usage: node hypertrie-write.js (--dir DIR | --memory) --seed HEX32 [--ops-json JSON] [--fill N]
 *          [--batch-size B] [--timeout-ms N]
 *   --ops-json  [["put", key, valueHex], ["del", key], ["batch", [{type, key, valueHex}]], ...] run in order
 *   --fill N    then put N generated entries (lib/hypertrie.js `generated`) in batches of B (default 500)
 * stdout: {event:"written", key, discoveryKey, length, version, entries:[{key, value(hex), seq}] sorted by key}
 */
const { parse, emit, finish, hexArg, intArg, UsageError, call } = require('./lib/cli')
const { openTrie, fill, listSorted } = require('./lib/hypertrie')

const USAGE = 'hypertrie-write.js (--dir DIR | --memory) --seed HEX32 [--ops-json JSON] [--fill N] [--batch-size B]'

async function main () {
  const { values } = parse({
    dir: { type: 'string' },
    memory: { type: 'boolean' },
    seed: { type: 'string' },
    'ops-json': { type: 'string' },
    fill: { type: 'string' },
    'batch-size': { type: 'string' }
  }, { usage: USAGE })
  if (!values.dir === !values.memory) throw new UsageError('give exactly one of --dir DIR or --memory')
  const seed = hexArg(values.seed, '--seed', 32)
  if (!seed) throw new UsageError('--seed is required')
  let ops = []
  if (values['ops-json']) {
    try {
      ops = JSON.parse(values['ops-json'])
    } catch (err) {
      throw new UsageError('--ops-json: ' + err.message)
    }
  }
  const db = await openTrie({ dir: values.dir || null, seed })
  for (const op of ops) {
    if (op[0] === 'put') await call((cb) => db.put(op[1], Buffer.from(op[2], 'hex'), cb))
    else if (op[0] === 'del') await call((cb) => db.del(op[1], cb))
    else if (op[0] === 'batch') {
      const batch = op[1].map((o) => ({ type: o.type, key: o.key, value: o.valueHex === undefined ? undefined : Buffer.from(o.valueHex, 'hex') }))
      await call((cb) => db.batch(batch, cb))
    } else throw new UsageError('unknown op ' + JSON.stringify(op))
  }
  const n = intArg(values.fill, '--fill') || 0
  await fill(db, 0, n, intArg(values['batch-size'], '--batch-size', { min: 1 }) || 500)
  emit({
    event: 'written',
    key: db.key.toString('hex'),
    discoveryKey: db.discoveryKey.toString('hex'),
    length: db.feed.length,
    version: db.version,
    entries: await listSorted(db)
  })
  await call((cb) => db.feed.close(cb))
  finish(0)
}

main()
