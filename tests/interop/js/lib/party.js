'use strict'
/**
 * Our JS implementation of the Wireline party behaviour (party-0.1.md), used as the reference peer
 * in interop tests: the npm package is gone, so this re-creates it from the notes on top of the real
 * hypercore-protocol 6.12.0 and hypercore 7.7.1.
 *
 * Party.replicate({id, live}) -> a hypercore-protocol stream with extensions ['party'] whose first
 * channel is the party key. On the stream's handshake a Peer is made (the remote must support
 * 'party', else the stream is destroyed), then rules.ready / rules.handshake run. Remote channels
 * other than the party's go through rules.findFeed and are replicated on the same stream.
 *
 * Party messages travel as `party` extension messages on the party channel, AnyType-wrapped
 * (party-codec.js). IntroduceFeeds and Request are transactions: the sender gives
 * `transaction: {id}`, the receiver answers with the same type and `transaction: {id, return: true}`.
 *
 * The rules object is the "two writers" set from the notes (TwoWriters below): handshake introduces
 * the local feed key and replicates the local feed; onIntroduceFeeds opens each key as a reader and
 * replicates it; findFeed returns the local feed or a known reader; onRequest answers
 * {type: 'echo', value: <request value>} (what the recorded reference peer did).
 *
 * Observers: party.on('event', obj) receives plain objects (see party-peer.js for the list).
 */
const { EventEmitter } = require('node:events')
const crypto = require('node:crypto')
const protocol = require('hypercore-protocol')
const hcrypto = require('hypercore-crypto')
const { encodeAny, decodeAny } = require('./party-codec')

const EXTENSION = 'party'

class Peer {
  constructor (party, stream, channel) {
    this.party = party
    this.stream = stream
    this.channel = channel
    this.peerId = stream.remoteId
    this.replicated = new Set()
    this.pending = new Map()
  }

  /** Replicates `feed` on this peer's stream once per key; false if it already was. */
  async replicate (feed) {
    if (!feed.opened) await new Promise((resolve) => feed.ready(resolve))
    const hex = feed.key.toString('hex')
    if (this.replicated.has(hex) || this.stream.destroyed) return false
    this.replicated.add(hex)
    feed.replicate({ live: this.party.live, stream: this.stream })
    if (!this.party.live && !this.party.expectedFeeds) this.stream.expectedFeeds = this.replicated.size
    this.party.emitEvent({ event: 'replicating', peer: this.party.peerIndex(this), key: hex })
    return true
  }

  _send (type, message) {
    this.channel.extension(EXTENSION, encodeAny(type, message))
  }

  _transaction (type, message) {
    const id = this.party.nextTransactionId()
    const answer = new Promise((resolve, reject) => {
      const timer = this.party.transactionTimeout
        ? setTimeout(() => {
          this.pending.delete(id)
          reject(new Error('Transaction timeout.'))
        }, this.party.transactionTimeout)
        : null
      this.pending.set(id, { resolve, timer })
    })
    this._send(type, Object.assign({ transaction: { id } }, message))
    return { id, answer }
  }

  introduceFeeds ({ keys }) {
    return this._transaction('IntroduceFeeds', { keys })
  }

  request ({ type, value }) {
    return this._transaction('Request', { type, value })
  }

  sendEphemeralMessage ({ type, value }) {
    this._send('EphemeralMessage', { type, value })
  }

  async onExtension (payload) {
    let decoded
    try {
      decoded = decodeAny(payload)
    } catch (err) {
      this.party.emitEvent({ event: 'bad-message', peer: this.party.peerIndex(this), error: err.message, payload: payload.toString('hex') })
      return
    }
    const { type, message } = decoded
    if (!message) {
      this.party.emitEvent({ event: 'unknown-message', peer: this.party.peerIndex(this), type })
      return
    }
    const tx = message.transaction
    if (tx && tx.return) {
      const waiting = this.pending.get(tx.id)
      if (!waiting) return
      this.pending.delete(tx.id)
      if (waiting.timer) clearTimeout(waiting.timer)
      waiting.resolve(message)
      return
    }
    const rules = this.party.rules
    if (type === 'IntroduceFeeds') {
      const result = (await rules.onIntroduceFeeds({ peer: this, message })) || {}
      this._send('IntroduceFeeds', { transaction: { id: tx && tx.id, return: true }, keys: result.keys || [] })
    } else if (type === 'Request') {
      const result = (await rules.onRequest({ peer: this, message })) || {}
      this._send('Request', Object.assign({ transaction: { id: tx && tx.id, return: true } }, result))
    } else if (type === 'EphemeralMessage') {
      await rules.onEphemeralMessage({ peer: this, message })
    }
  }
}

class Party extends EventEmitter {
  /**
   * partyKey: 32-byte Buffer. rules: object with handshake/findFeed and optional ready/
   * onIntroduceFeeds/onRequest/onEphemeralMessage. live: replication mode. name: transaction ids are
   * "<name>-tx-<n>" when given, else 12 random bytes as hex. transactionTimeout: ms (0 = none).
   */
  constructor ({ partyKey, rules, live = true, name = null, transactionTimeout = 0, expectedFeeds = 0 }) {
    super()
    this.key = partyKey
    this.discoveryKey = hcrypto.discoveryKey(partyKey)
    this.rules = rules
    this.live = live
    this.name = name
    this.transactionTimeout = transactionTimeout
    this.expectedFeeds = expectedFeeds
    this.peers = []
    this._allPeers = []
    this._tx = 0
  }

  emitEvent (obj) {
    this.emit('event', obj)
  }

  peerIndex (peer) {
    return this._allPeers.indexOf(peer)
  }

  nextTransactionId () {
    this._tx++
    return this.name ? `${this.name}-tx-${this._tx}` : crypto.randomBytes(12).toString('hex')
  }

  replicate ({ id = null, live = this.live } = {}) {
    const opts = { extensions: [EXTENSION], live }
    if (id) opts.id = id
    if (this.expectedFeeds) opts.expectedFeeds = this.expectedFeeds
    const stream = protocol(opts)
    const channel = stream.feed(this.key)
    let peer = null
    const early = []

    channel.on('extension', (name, payload) => {
      if (name !== EXTENSION || !peer) return
      peer.onExtension(payload).catch((err) => stream.destroy(err))
    })

    const onRemoteFeed = async (dk) => {
      if (dk.equals(this.discoveryKey)) return
      if (!peer) {
        early.push(dk)
        return
      }
      const feed = await this.rules.findFeed({ peer, discoveryKey: dk })
      if (feed) await peer.replicate(feed)
      else this.emitEvent({ event: 'unknown-feed', peer: this.peerIndex(peer), discoveryKey: dk.toString('hex') })
    }
    stream.on('feed', (dk) => onRemoteFeed(dk).catch((err) => stream.destroy(err)))

    stream.on('handshake', () => {
      if (!stream.remoteSupports(EXTENSION)) {
        stream.destroy(new Error('remote does not support the party extension'))
        return
      }
      peer = new Peer(this, stream, channel)
      this.peers.push(peer)
      this._allPeers.push(peer)
      this.emitEvent({
        event: 'handshake',
        peer: this.peerIndex(peer),
        remoteId: stream.remoteId.toString('hex'),
        remoteUserData: stream.remoteUserData ? stream.remoteUserData.toString('hex') : null,
        remoteLive: stream.remoteLive
      })
      const run = async () => {
        if (this.rules.ready) await this.rules.ready({ peer })
        await this.rules.handshake({ peer })
        this.emitEvent({ event: 'party-handshake', peer: this.peerIndex(peer) })
        for (const dk of early.splice(0)) await onRemoteFeed(dk)
      }
      run().catch((err) => stream.destroy(err))
    })

    const onEnd = () => {
      if (!peer) return
      const i = this.peers.indexOf(peer)
      if (i !== -1) {
        this.peers.splice(i, 1)
        this.emitEvent({ event: 'peer-remove', peer: this.peerIndex(peer) })
      }
    }
    stream.on('end', onEnd)
    stream.on('close', onEnd)
    stream.on('finish', onEnd)
    return stream
  }
}

/**
 * The README "two writers" rules: each peer owns one writable feed and opens readers for the keys
 * the other introduces. `openReader(key)` returns a hypercore (may be async); events go to `party`.
 */
class TwoWriters {
  constructor ({ localFeed, openReader, party = null }) {
    this.name = 'two-writers'
    this.localFeed = localFeed
    this.openReader = openReader
    this.readers = new Map() // hex key -> feed
    this.party = party
  }

  _event (obj) {
    if (this.party) this.party.emitEvent(obj)
  }

  async handshake ({ peer }) {
    const { id, answer } = peer.introduceFeeds({ keys: [this.localFeed.key] })
    answer.then(
      (msg) => this._event({ event: 'introduce-feeds-ack', peer: peer.party.peerIndex(peer), id, keys: msg.keys.map((k) => k.toString('hex')) }),
      (err) => this._event({ event: 'transaction-error', peer: peer.party.peerIndex(peer), id, error: err.message })
    )
    await peer.replicate(this.localFeed)
  }

  async reader (key) {
    const hex = key.toString('hex')
    if (hex === this.localFeed.key.toString('hex')) return this.localFeed
    let feed = this.readers.get(hex)
    if (!feed) {
      feed = await this.openReader(key)
      if (!this.readers.has(hex)) {
        this.readers.set(hex, feed)
        this._event({ event: 'reader', key: hex })
      } else feed = this.readers.get(hex)
    }
    return feed
  }

  async onIntroduceFeeds ({ peer, message }) {
    const tx = message.transaction || {}
    this._event({ event: 'introduce-feeds', peer: peer.party.peerIndex(peer), id: tx.id || null, keys: message.keys.map((k) => k.toString('hex')) })
    for (const key of message.keys) {
      if (key.length !== 32) continue
      await peer.replicate(await this.reader(key))
    }
    return { keys: [] }
  }

  async findFeed ({ discoveryKey }) {
    if (discoveryKey.equals(this.localFeed.discoveryKey)) return this.localFeed
    for (const feed of this.readers.values()) if (feed.discoveryKey && discoveryKey.equals(feed.discoveryKey)) return feed
    return null
  }

  async onRequest ({ peer, message }) {
    const tx = message.transaction || {}
    this._event({ event: 'request', peer: peer.party.peerIndex(peer), id: tx.id || null, type: message.type, value: text(message.value), valueHex: hex(message.value) })
    return { type: 'echo', value: message.value || Buffer.alloc(0) }
  }

  async onEphemeralMessage ({ peer, message }) {
    this._event({ event: 'ephemeral', peer: peer.party.peerIndex(peer), type: message.type, value: text(message.value), valueHex: hex(message.value) })
  }
}

function text (buf) {
  return buf ? buf.toString('utf8') : null
}

function hex (buf) {
  return buf ? buf.toString('hex') : null
}

module.exports = { Party, Peer, TwoWriters, EXTENSION }
