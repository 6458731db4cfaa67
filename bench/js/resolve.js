'use strict'
// Resolve the pinned packages: bench/js/node_modules (sodium-native build, for benchmarks) first, else the
// interop harness's tests/interop/node_modules (sodium-javascript fallback). Prints which sodium backend runs.
// Also the small helpers every bench script shares: arg (a --name value), cpuSeconds (process CPU since).
const path = require('path')
const fs = require('fs')

const roots = [path.join(__dirname, 'node_modules'), path.join(__dirname, '..', '..', 'tests', 'interop', 'node_modules')]

function load (name) {
  for (const root of roots) {
    if (fs.existsSync(path.join(root, name))) return require(path.join(root, name))
  }
  throw new Error(`package ${name} not installed (run bench/setup-native.sh or make setup-js)`)
}

function sodiumBackend () {
  for (const root of roots) {
    if (fs.existsSync(path.join(root, 'sodium-universal'))) {
      try {
        if (require(path.join(root, 'sodium-universal')) === require(path.join(root, 'sodium-native'))) return 'sodium-native'
      } catch (_) {}
      return 'sodium-javascript'
    }
  }
  return 'unknown'
}

// The value following --NAME on the command line, else def.
function arg (name, def) {
  const i = process.argv.indexOf('--' + name)
  return i === -1 ? def : process.argv[i + 1]
}

// CPU seconds (user + system) the process used since the process.cpuUsage() sample `since`.
function cpuSeconds (since) {
  const u = process.cpuUsage(since)
  return (u.user + u.system) / 1e6
}

module.exports = { load, sodiumBackend, arg, cpuSeconds }

if (require.main === module) process.stdout.write(sodiumBackend() + '\n')
