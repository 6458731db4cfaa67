'use strict'
/**
 * Opens a hypertrie 3.8.0 db stored in a directory (random-access-file; e.g. written by Python) and reports
 * what it holds.
 *
 * usage: node hypertrie-read.js --dir DIR [--key HEX32] [--get KEY]... [--timeout-ms N]
 * stdout: {event:"get", key, entry} per --get (entry {key, value(hex), seq} or null), then
 *         {event:"read", key, length, version, writable, entries:[...] sorted by key}
 */
const { parse, emit, finish, hexArg, UsageError, call } = require('./lib/cli')
const { openTrie, entryJson, listSorted } = require('./lib/hypertrie')

async function main () {
  const { values } = parse({
    dir: { type: 'string' },
    key: { type: 'string' },
    get: { type: 'string', multiple: true }
  }, { usage: 'hypertrie-read.js --dir DIR [--key HEX32] [--get KEY]...' })
  if (!values.dir) throw new UsageError('--dir is required')
  const db = await openTrie({ dir: values.dir, key: hexArg(values.key, '--key', 32) })
  for (const key of values.get || []) emit({ event: 'get', key, entry: entryJson(await call((cb) => db.get(key, cb))) })
  emit({
    event: 'read',
    key: db.key.toString('hex'),
    length: db.feed.length,
    version: db.version,
    writable: db.feed.writable,
    entries: await listSorted(db)
  })
  await call((cb) => db.feed.close(cb))
  finish(0)
}

main()
