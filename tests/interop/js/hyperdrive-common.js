'use strict'
/**
 * Helpers shared by the hyperdrive 9.16.0 scripts (gen-hyperdrive-vectors.js, hyperdrive-write.js,
 * hyperdrive-read.js): test data, running an operation list, and walking a drive.
 *
 * Data spec: {text: s} (UTF-8) or {pattern: {size, seed}} = bytes (i * 31 + seed * 7) & 255.
 * Operations (JSON arrays): ["writeFile", path, data, opts?], ["mkdir", path, opts?], ["unlink", path],
 * ["rmdir", path], ["writeStream", path, [data, ...], opts?] (createWriteStream: one block per chunk).
 * opts: mode/uid/gid; mtime = ctime = new Date(time) unless `time` is null (then JS uses now).
 */
const crypto = require('node:crypto')
const path = require('node:path')
const { call } = require('./lib/cli')

function pattern (size, seed) {
  const buf = Buffer.alloc(size)
  for (let i = 0; i < size; i++) buf[i] = (i * 31 + seed * 7) & 255
  return buf
}

function dataOf (spec) {
  if (spec.text !== undefined) return Buffer.from(spec.text, 'utf8')
  return pattern(spec.pattern.size, spec.pattern.seed)
}

function sha256 (buf) {
  return crypto.createHash('sha256').update(buf).digest('hex')
}

function withTimes (time, extra = {}) {
  const opts = Object.assign({}, extra)
  if (time !== null) {
    opts.mtime = new Date(time)
    opts.ctime = new Date(time)
  }
  return opts
}

async function runOp (drive, op, time) {
  const [kind, name] = op
  if (kind === 'writeFile') return call((cb) => drive.writeFile(name, dataOf(op[2]), withTimes(time, op[3]), cb))
  if (kind === 'mkdir') return call((cb) => drive.mkdir(name, withTimes(time, op[2]), cb))
  if (kind === 'unlink') return call((cb) => drive.unlink(name, cb))
  if (kind === 'rmdir') return call((cb) => drive.rmdir(name, cb))
  if (kind === 'writeStream') {
    return new Promise((resolve, reject) => {
      const ws = drive.createWriteStream(name, withTimes(time, op[3]))
      ws.on('error', reject)
      ws.on('finish', resolve)
      for (const chunk of op[2]) ws.write(dataOf(chunk))
      ws.end()
    })
  }
  throw new Error('unknown op ' + kind)
}

function statJson (st) {
  const o = {}
  for (const k of ['dev', 'nlink', 'rdev', 'blksize', 'ino', 'mode', 'uid', 'gid', 'size', 'offset', 'byteOffset', 'blocks']) o[k] = st[k]
  o.atime = st.atime.getTime()
  o.mtime = st.mtime.getTime()
  o.ctime = st.ctime.getTime()
  o.isFile = st.isFile()
  o.isDirectory = st.isDirectory()
  return o
}

/**
 * Every entry reachable from "/" by readdir: {readdir: {dir: [names]}, entries: {path: {stat, size,
 * sha256}}} (size/sha256 of the content for files).
 */
async function walk (drive) {
  const readdir = {}
  const entries = {}
  const queue = ['/']
  while (queue.length) {
    const dir = queue.shift()
    const names = await call((cb) => drive.readdir(dir, cb))
    readdir[dir] = names
    for (const name of names) {
      const p = path.posix.join(dir, name)
      const st = await call((cb) => drive.stat(p, cb))
      const entry = { stat: statJson(st) }
      if (st.isDirectory()) queue.push(p)
      else {
        const buf = await call((cb) => drive.readFile(p, cb))
        entry.size = buf.length
        entry.sha256 = sha256(buf)
      }
      entries[p] = entry
    }
  }
  return { readdir, entries }
}

module.exports = { pattern, dataOf, sha256, runOp, statJson, walk, withTimes }
