'use strict'
// Drive import/read benchmark, JS side: hyperdrive 9.16.0 on random-access-file.
//   node drive-import.js --src DIR --dst DIR [--read]
//     -> {"files", "bytes", "importSeconds", "readSeconds", "importCpu", "readCpu", "peakRss", "sodium"}
// seconds: wall time; cpu: process.cpuUsage() (user + system) over the same window; peakRss: maxRSS in bytes.
// Import: every file under --src (sorted walk) streamed with fs.createReadStream -> archive.createWriteStream
// (64 KiB chunks = the 64 KiB blocks writeFile makes). Read: every file streamed back and hashed (sha256).
const fs = require('fs')
const path = require('path')
const crypto = require('crypto')
const { load, sodiumBackend, arg, cpuSeconds } = require('./resolve')
const hyperdrive = load('hyperdrive')

function walk (dir, rel = '', out = []) {
  for (const name of fs.readdirSync(path.join(dir, rel)).sort()) {
    const r = rel ? rel + '/' + name : name
    if (fs.statSync(path.join(dir, r)).isDirectory()) walk(dir, r, out)
    else out.push(r)
  }
  return out
}

function done (stream, event) {
  return new Promise((resolve, reject) => { stream.on('error', reject); stream.on(event, resolve) })
}

async function main () {
  const src = arg('src'); const dst = arg('dst')
  const drive = hyperdrive(dst)
  await new Promise((resolve, reject) => drive.ready(err => err ? reject(err) : resolve()))
  const files = walk(src)
  let bytes = 0
  let started = process.hrtime.bigint(); let cpu = process.cpuUsage()
  for (const rel of files) {
    const ws = drive.createWriteStream('/' + rel)
    fs.createReadStream(path.join(src, rel)).pipe(ws)
    await done(ws, 'finish')
  }
  const importSeconds = Number(process.hrtime.bigint() - started) / 1e9; const importCpu = cpuSeconds(cpu)
  let readSeconds = null; let readCpu = null
  if (process.argv.includes('--read')) {
    started = process.hrtime.bigint(); cpu = process.cpuUsage()
    for (const rel of files) {
      const h = crypto.createHash('sha256')
      const rs = drive.createReadStream('/' + rel)
      rs.on('data', (d) => { h.update(d); bytes += d.length })
      await done(rs, 'end')
    }
    readSeconds = Number(process.hrtime.bigint() - started) / 1e9; readCpu = cpuSeconds(cpu)
  }
  await new Promise(resolve => drive.close(resolve))
  const peakRss = process.resourceUsage().maxRSS * 1024
  process.stdout.write(JSON.stringify({ files: files.length, bytes, importSeconds, readSeconds, importCpu, readCpu, peakRss, sodium: sodiumBackend() }) + '\n')
}

main().catch(err => { process.stderr.write(String(err && err.stack || err) + '\n'); process.exit(1) })
