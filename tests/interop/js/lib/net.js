'use strict'
/**
 * Loopback TCP transport for protocol streams: `--port N` listens on HOST (default 127.0.0.1),
 * `--connect HOST:PORT` dials. Each connection is joined to a fresh duplex (a hypercore-protocol
 * stream) both ways; errors on either end tear down the other.
 */
const net = require('node:net')

/**
 * Joins a socket and a protocol stream. `onEnd(error|null)` is called once when the pair is done.
 * A graceful end of the protocol stream (finalize -> EOF) half-closes the socket, and the remote's
 * EOF finishes the protocol stream's writable side (which finalizes it in hypercore-protocol).
 */
function join (socket, stream, onEnd) {
  let done = false
  let error = null
  function end (err) {
    if (err && !error) error = err
    if (done) return
    done = true
    onEnd(error)
  }
  socket.setNoDelay(true)
  socket.pipe(stream).pipe(socket)
  stream.on('error', (err) => {
    if (!error) error = err
    socket.destroy()
  })
  stream.on('close', () => socket.destroy())
  socket.on('error', (err) => {
    // A reset after our own graceful end is not an error of the session.
    if (!error && !(stream.destroyed && err.code === 'ECONNRESET')) error = err
  })
  socket.on('close', () => {
    if (!stream.destroyed && stream.destroy) stream.destroy()
    end(null)
  })
}

/** Listens; `onConnection(socket)` per connection. Resolves with the server once listening. */
function listen (host, port, onConnection) {
  return new Promise((resolve, reject) => {
    const server = net.createServer(onConnection)
    server.once('error', reject)
    server.listen(port, host, () => {
      server.removeListener('error', reject)
      resolve(server)
    })
  })
}

/** Dials HOST:PORT; resolves with the connected socket. */
function connect (host, port) {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, host)
    socket.once('error', reject)
    socket.once('connect', () => {
      socket.removeListener('error', reject)
      resolve(socket)
    })
  })
}

module.exports = { join, listen, connect }
