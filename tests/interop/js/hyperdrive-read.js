'use strict'
/**
 * Opens the hyperdrive 9.16.0 drive stored in DIR (random-access-file) and reports everything in it.
 *
 * usage: node hyperdrive-read.js --dir DIR [--key HEX32] [--path P]... [--version V]
 * stdout: one line {key, contentKey, version, writable, metadataLength, contentLength, readdir, entries,
 *   history, files} — readdir/entries as hyperdrive-common.js walk() (from a checkout when --version),
 *   history = [{type, version, name}], files = {P: {sha256, size} | {error}} for each --path.
 */
const hyperdrive = require('hyperdrive')
const { parse, emit, finish, hexArg, intArg, call, UsageError } = require('./lib/cli')
const { walk, sha256 } = require('./hyperdrive-common')

const USAGE = 'hyperdrive-read.js --dir DIR [--key HEX32] [--path P]... [--version V] [--timeout-ms N]'

async function main () {
  const { values } = parse({
    dir: { type: 'string' },
    key: { type: 'string' },
    path: { type: 'string', multiple: true },
    version: { type: 'string' }
  }, { usage: USAGE })
  if (!values.dir) throw new UsageError('--dir is required')
  const key = hexArg(values.key, '--key', 32)
  const drive = key ? hyperdrive(values.dir, key) : hyperdrive(values.dir)
  await call((cb) => drive.ready(cb))
  const version = intArg(values.version, '--version')
  const view = version === undefined ? drive : drive.checkout(version)
  const tree = await walk(view)
  const history = await new Promise((resolve, reject) => {
    const list = []
    drive.history().on('data', (d) => list.push({ type: d.type, version: d.version, name: d.name }))
      .on('end', () => resolve(list)).on('error', reject)
  })
  const files = {}
  for (const p of values.path || []) {
    try {
      const buf = await call((cb) => view.readFile(p, cb))
      files[p] = { size: buf.length, sha256: sha256(buf) }
    } catch (err) {
      files[p] = { error: err.message }
    }
  }
  const out = {
    key: drive.key.toString('hex'),
    contentKey: drive.content ? drive.content.key.toString('hex') : null,
    version: view.version,
    writable: drive.writable,
    metadataLength: drive.metadata.length,
    contentLength: drive.content ? drive.content.length : null,
    readdir: tree.readdir,
    entries: tree.entries,
    history,
    files
  }
  await call((cb) => drive.close(cb))
  emit(out)
  finish(0)
}

main()
