'use strict'
// Resolve the pinned packages: bench/js/node_modules (sodium-native build, for benchmarks) first, else the
// interop harness's tests/interop/node_modules (sodium-javascript fallback). Prints which sodium backend runs.
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

module.exports = { load, sodiumBackend }

if (require.main === module) process.stdout.write(sodiumBackend() + '\n')
