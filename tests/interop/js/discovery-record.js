'use strict'
/**
 * Records the LAN discovery datagrams of the real JS stack (discovery-channel 5.5.1 + dns-discovery 6.2.3 +
 * multicast-dns 7.2.5 / dns-packet 5.6.1) without any network: multicast-dns runs on a fake UDP socket that
 * captures what it sends and lets the script inject datagrams (with a chosen source address).
 * Deterministic: dns-discovery's 32-byte secrets come from a SHA-256 counter stream (the first one is
 * printed as `secrets`), and Math.random is fixed, so two runs give identical output.
 *
 * usage: node discovery-record.js [--out FILE] [--timeout-ms N]
 * stdout: one line {event:"written", file, sha256} with --out, else the vectors object as one JSON line.
 * Output: {versions, discoveryKey, secrets: [hex, hex], cases: [{name, naming, ...}]} where each case
 *   lists `sent` datagrams ({hex, port, address}) and, for injected ones, `input` ({hex, host, port}) and
 *   the `peers` dns-discovery reported ({id, host, port}) for the joined ids.
 */
const crypto = require('node:crypto')
const fs = require('node:fs')
const EventEmitter = require('node:events')
const { parse, emit, finish } = require('./lib/cli')

// --- determinism: dns-discovery draws two 32-byte secrets and a 32-byte id with crypto.randomBytes
let counter = 0
const realRandomBytes = crypto.randomBytes
crypto.randomBytes = function (n, cb) {
  if (cb) return realRandomBytes(n, cb)
  const out = Buffer.alloc(n)
  let off = 0
  while (off < n) {
    const ctr = Buffer.alloc(8)
    ctr.writeBigUInt64BE(BigInt(counter++))
    const block = crypto.createHash('sha256').update('hyperparty-discovery').update(ctr).digest()
    off += block.copy(out, off)
  }
  return out
}
Math.random = () => 0.5

const multicastDns = require('multicast-dns')
const discoveryChannel = require('discovery-channel')
const packet = require('multicast-dns/node_modules/dns-packet')
const hcrypto = require('hypercore-crypto')

const DOMAINS = { dat: 'dat.local', plain: 'dns-discovery.local' }

class FakeSocket extends EventEmitter {
  constructor () {
    super()
    this.sent = []
  }

  send (buf, offset, length, port, address, cb) {
    this.sent.push({ hex: Buffer.from(buf.slice(offset, offset + length)).toString('hex'), port, address })
    if (cb) process.nextTick(cb)
  }

  address () { return { address: '0.0.0.0', port: 5353 } }
  setMulticastTTL () {}
  setMulticastLoopback () {}
  addMembership () {}
  dropMembership () {}
  close (cb) { if (cb) process.nextTick(cb) }
}

/** A discovery-channel with DNS multicast only, on a fake socket; `peers` collects what it reports. */
function makeChannel (naming) {
  const socket = new FakeSocket()
  const mdns = multicastDns({ socket, bind: false, multicast: false })
  const secretsStart = counter
  const opts = {
    dht: false,
    dns: { domain: DOMAINS[naming], server: [], multicast: mdns }
  }
  if (naming === 'dat') opts.hash = false
  const channel = discoveryChannel(opts)
  const peers = []
  channel.on('peer', (id, peer) => peers.push({ id: id.toString('hex'), host: peer.host, port: peer.port }))
  return { socket, channel, peers, secretsStart }
}

function tick () {
  return new Promise((resolve) => setTimeout(resolve, 5))
}

function inject (socket, buf, host, port = 5353) {
  socket.emit('message', buf, { address: host, port, family: 'IPv4', size: buf.length })
}

function txtAnswer (name, strings) {
  return { type: 'TXT', name, ttl: 0, data: strings.map((s) => Buffer.from(s)) }
}

function peersB64 (list) {
  const buf = Buffer.alloc(6 * list.length)
  list.forEach(([host, port], i) => {
    host.split('.').forEach((p, j) => { buf[6 * i + j] = Number(p) })
    buf.writeUInt16BE(port, 6 * i + 4)
  })
  return buf.toString('base64')
}

async function record (dk) {
  const cases = []
  const otherDk = crypto.createHash('sha256').update('another discovery key').digest()

  for (const naming of ['dat', 'plain']) {
    const { socket, channel, peers } = makeChannel(naming)
    const id = naming === 'dat' ? dk.slice(0, 20).toString('hex') : crypto.createHash('sha1').update(dk).digest('hex')
    const name = id + '.' + DOMAINS[naming]

    // 1. join = announce port 3282: one TXT query
    channel.join(dk, 3282)
    await tick()
    cases.push({ name: 'announce-query', naming, lookupName: name, sent: socket.sent.splice(0) })

    // 2. a TXT query from another host: one TXT answer (token for that host, peers 0.0.0.0:3282)
    const query = packet.encode({ type: 'query', questions: [{ type: 'TXT', name }] })
    inject(socket, query, '192.168.1.10', 5353)
    await tick()
    cases.push({ name: 'answer-txt', naming, input: { hex: query.toString('hex'), host: '192.168.1.10', port: 5353 }, sent: socket.sent.splice(0) })

    // 3. the same question from a querier on another port: answer goes to that port
    inject(socket, query, '10.0.0.7', 40000)
    await tick()
    cases.push({ name: 'answer-txt-other-port', naming, input: { hex: query.toString('hex'), host: '10.0.0.7', port: 40000 }, sent: socket.sent.splice(0) })

    // 4. an SRV question: SRV records with target 0.0.0.0
    const srvQuery = packet.encode({ type: 'query', questions: [{ type: 'SRV', name }] })
    inject(socket, srvQuery, '192.168.1.10', 5353)
    await tick()
    cases.push({ name: 'answer-srv', naming, input: { hex: srvQuery.toString('hex'), host: '192.168.1.10', port: 5353 }, sent: socket.sent.splice(0) })

    // 5. silent cases: other domain, id not announced
    const otherDomain = packet.encode({ type: 'query', questions: [{ type: 'TXT', name: id + '.example.local' }] })
    inject(socket, otherDomain, '192.168.1.10', 5353)
    const unknownId = packet.encode({ type: 'query', questions: [{ type: 'TXT', name: 'ab'.repeat(20) + '.' + DOMAINS[naming] }] })
    inject(socket, unknownId, '192.168.1.10', 5353)
    await tick()
    cases.push({ name: 'silent', naming, inputs: [otherDomain.toString('hex'), unknownId.toString('hex')], sent: socket.sent.splice(0) })

    // 6. answers JS reads: TXT with 0.0.0.0 and a literal address, SRV with 0.0.0.0 and port 0, an answer
    //    for another domain (not checked), an answer inside a query, an answer for an id not joined, our own echo
    const readInputs = [
      { what: 'txt-response', host: '192.168.1.20', port: 5353,
        buf: packet.encode({ type: 'response', flags: packet.AUTHORITATIVE_ANSWER, questions: [{ type: 'TXT', name }], answers: [txtAnswer(name, ['token=abc', 'peers=' + peersB64([['0.0.0.0', 4000], ['192.168.1.30', 4001]])])] }) },
      { what: 'srv-response', host: '192.168.1.21', port: 5353,
        buf: packet.encode({ type: 'response', answers: [{ type: 'SRV', name, ttl: 0, data: { port: 4002, target: '0.0.0.0' } }, { type: 'SRV', name, ttl: 0, data: { port: 0, target: '192.168.1.31' } }, { type: 'SRV', name, ttl: 0, data: { port: 4003, target: 'example.org' } }] }) },
      { what: 'other-domain-answer', host: '192.168.1.22', port: 5353,
        buf: packet.encode({ type: 'response', answers: [txtAnswer(id + '.somewhere.else', ['peers=' + peersB64([['0.0.0.0', 4004]])])] }) },
      { what: 'answer-in-query', host: '192.168.1.23', port: 5353,
        buf: packet.encode({ type: 'query', questions: [{ type: 'TXT', name: 'cd'.repeat(20) + '.' + DOMAINS[naming] }], additionals: [txtAnswer(name, ['peers=' + peersB64([['0.0.0.0', 4005]])])] }) },
      { what: 'not-joined', host: '192.168.1.24', port: 5353,
        buf: packet.encode({ type: 'response', answers: [txtAnswer('ef'.repeat(20) + '.' + DOMAINS[naming], ['peers=' + peersB64([['0.0.0.0', 4006]])])] }) },
      { what: 'own-echo', host: '192.168.1.10', port: 5353, buf: Buffer.from(cases.find((c) => c.naming === naming && c.name === 'answer-txt').sent[0].hex, 'hex') },
      { what: 'garbage', host: '192.168.1.25', port: 5353, buf: Buffer.from('00000000000100000000000005', 'hex') },
      { what: 'compressed-name', host: '192.168.1.26', port: 5353,
        buf: compressedAnswer(name, peersB64([['0.0.0.0', 4007]])) }
    ]
    const reads = []
    for (const r of readInputs) {
      peers.length = 0
      inject(socket, r.buf, r.host, r.port)
      await tick()
      reads.push({ what: r.what, hex: r.buf.toString('hex'), host: r.host, port: r.port, peers: peers.slice(), sent: socket.sent.splice(0) })
    }
    cases.push({ name: 'read', naming, reads })

    // 7. lookup-only join of another key: a query, and no answer to a question for it
    channel.join(otherDk)
    await tick()
    const lookupSent = socket.sent.splice(0)
    const otherName = (naming === 'dat' ? otherDk.slice(0, 20).toString('hex') : crypto.createHash('sha1').update(otherDk).digest('hex')) + '.' + DOMAINS[naming]
    inject(socket, packet.encode({ type: 'query', questions: [{ type: 'TXT', name: otherName }] }), '192.168.1.10', 5353)
    await tick()
    cases.push({ name: 'lookup-only', naming, otherDiscoveryKey: otherDk.toString('hex'), lookupName: otherName, sent: lookupSent, answered: socket.sent.splice(0) })

    await new Promise((resolve) => channel.destroy(resolve))
  }
  return cases
}

/** A response whose answer name is a compression pointer to the question's name (what dnslib would write). */
function compressedAnswer (name, peers) {
  const question = packet.encode({ type: 'response', flags: packet.AUTHORITATIVE_ANSWER, questions: [{ type: 'TXT', name }] })
  const header = Buffer.from(question)
  header.writeUInt16BE(1, 6) // ANCOUNT = 1
  const strings = [Buffer.from('token=x'), Buffer.from('peers=' + peers)]
  const rdata = Buffer.concat(strings.map((s) => Buffer.concat([Buffer.from([s.length]), s])))
  const fixed = Buffer.alloc(10)
  fixed.writeUInt16BE(16, 0)
  fixed.writeUInt16BE(1, 2)
  fixed.writeUInt32BE(0, 4)
  fixed.writeUInt16BE(rdata.length, 8)
  return Buffer.concat([header, Buffer.from([0xc0, 12]), fixed, rdata])
}

async function main () {
  const { values } = parse({ out: { type: 'string' } }, { usage: 'discovery-record.js [--out FILE] [--timeout-ms N]' })
  const kp = hcrypto.keyPair(Buffer.alloc(32, 0x0d))
  const dk = hcrypto.discoveryKey(kp.publicKey)
  const first = counter
  const cases = await record(dk)
  // each channel drew (in order) the dns-discovery id (32 bytes) and two secrets (32 bytes each);
  // secret[1] is the one tokens are made with.  Recompute them for the Python side.
  const stream = (i) => { const c = Buffer.alloc(8); c.writeBigUInt64BE(BigInt(i)); return crypto.createHash('sha256').update('hyperparty-discovery').update(c).digest().toString('hex') }
  const secrets = { dat: [stream(first + 1), stream(first + 2)], plain: [stream(first + 4), stream(first + 5)] }
  const out = {
    description: 'LAN discovery datagrams of discovery-channel + dns-discovery + multicast-dns (see tests/interop/js/discovery-record.js)',
    versions: {
      'discovery-channel': require('discovery-channel/package.json').version,
      'dns-discovery': require('dns-discovery/package.json').version,
      'multicast-dns': require('multicast-dns/package.json').version,
      'dns-packet': require('multicast-dns/node_modules/dns-packet/package.json').version
    },
    publicKey: kp.publicKey.toString('hex'),
    discoveryKey: dk.toString('hex'),
    secrets,
    cases
  }
  const text = JSON.stringify(out, null, 1) + '\n'
  if (values.out) {
    fs.writeFileSync(values.out, text)
    emit({ event: 'written', file: values.out, sha256: crypto.createHash('sha256').update(text).digest('hex') })
  } else {
    emit(out)
  }
  finish(0)
}

main()
