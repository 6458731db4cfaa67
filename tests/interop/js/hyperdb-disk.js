'use strict'
/**
 * Runs hyperdb 3.5.0 steps on databases stored with random-access-file, one directory per peer.
 *
 * usage: node hyperdb-disk.js --dir DIR --case-json JSON [--timeout-ms N]
 *   JSON = {valueEncoding, peers, steps} in the format of tests/vectors/hyperdb.json cases:
 *   peers {name, seed} (new db), {name, of, localSeed} (new clone), {name, key} (open the db stored in
 *   DIR/<name>, e.g. one Python wrote); steps as gen-hyperdb-vectors.js runs them (writes, reads, `sync`).
 * stdout: one line {event:"done", steps:[{op, result}], final:{peer: {key, localKey, writers, authorized,
 *   cores}}} after every feed is closed (the directories can then be read by another process).
 */
const path = require('node:path')
const raf = require('random-access-file')
const { Runner } = require('./gen-hyperdb-vectors') // loads lib/determinism.js first
const determinism = require('./lib/determinism')
const { parse, emit, finish, UsageError } = require('./lib/cli')

async function main () {
  const { values } = parse({ dir: { type: 'string' }, 'case-json': { type: 'string' } }, { usage: 'hyperdb-disk.js --dir DIR --case-json JSON' })
  if (!values.dir || !values['case-json']) throw new UsageError('--dir and --case-json are required')
  const kase = JSON.parse(values['case-json'])
  determinism.reseed(0x4d15c, 'hyperdb-disk')
  const runner = new Runner(kase, { storage: (peer) => (name) => raf(path.join(values.dir, peer, name)) })
  await runner.start()
  const steps = await runner.runSteps(kase.steps || [])
  const final = await runner.finalStates()
  await runner.close()
  emit({ event: 'done', steps, final })
  finish(0)
}

main()
