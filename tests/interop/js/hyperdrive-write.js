'use strict'
/**
 * Runs hyperdrive 9.16.0 operations on a drive stored in DIR (random-access-file: DIR/metadata,
 * DIR/content), creating it or reopening it.
 *
 * usage: node hyperdrive-write.js --dir DIR [--seed HEX32] [--key HEX32] --ops JSON [--time MS]
 *   --seed   metadata key pair = crypto_sign_seed_keypair(seed) (a new drive); otherwise the drive in
 *            DIR is reopened (its stored keys), or a random key pair is made.
 *   --ops    a JSON list of operations (see hyperdrive-common.js); --time sets mtime/ctime (default
 *            1546300800000; "now" lets JS use the clock).
 * stdout: one line {key, discoveryKey, contentKey, version, metadataLength, contentLength, writable}
 */
const fs = require('node:fs')
const hyperdrive = require('hyperdrive')
const hcrypto = require('hypercore-crypto')
const { parse, emit, finish, hexArg, intArg, call, UsageError } = require('./lib/cli')
const { runOp } = require('./hyperdrive-common')

const USAGE = 'hyperdrive-write.js --dir DIR [--seed HEX32] --ops JSON [--time MS|now] [--timeout-ms N]'

async function main () {
  const { values } = parse({
    dir: { type: 'string' },
    seed: { type: 'string' },
    ops: { type: 'string' },
    time: { type: 'string' }
  }, { usage: USAGE })
  if (!values.dir) throw new UsageError('--dir is required')
  const seed = hexArg(values.seed, '--seed', 32)
  const ops = JSON.parse(values.ops !== undefined ? values.ops : '[]')
  const time = values.time === 'now' ? null : (intArg(values.time, '--time') ?? 1546300800000)
  fs.mkdirSync(values.dir, { recursive: true })
  let drive
  if (seed) {
    const kp = hcrypto.keyPair(seed)
    drive = hyperdrive(values.dir, kp.publicKey, { secretKey: kp.secretKey })
  } else {
    drive = hyperdrive(values.dir)
  }
  await call((cb) => drive.ready(cb))
  if (ops.length && !drive.writable) throw new Error('the drive in ' + values.dir + ' is not writable')
  for (const op of ops) await runOp(drive, op, time)
  const out = {
    key: drive.key.toString('hex'),
    discoveryKey: drive.discoveryKey.toString('hex'),
    contentKey: drive.content.key.toString('hex'),
    version: drive.version,
    metadataLength: drive.metadata.length,
    contentLength: drive.content.length,
    writable: drive.writable
  }
  await call((cb) => drive.close(cb))
  emit(out)
  finish(0)
}

main()
