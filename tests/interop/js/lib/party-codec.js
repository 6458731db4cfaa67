'use strict'
/**
 * Protobuf codec of the Wireline party messages (party-0.1.md "Wire encoding"), written against the
 * schema with protocol-buffers-encodings (the field encoders hypercore-protocol itself uses).
 *
 *   AnyType          { type: string = 1, value: bytes = 2 }
 *   Transaction      { id: string = 1, return: bool = 2 }
 *   IntroduceFeeds   { transaction: Transaction = 1, keys: repeated bytes = 2 }
 *   Request          { transaction: Transaction = 1, type: string = 3, value: bytes = 4 }
 *   EphemeralMessage { type: string = 1, value: bytes = 2 }
 *
 * Encoding follows protobufjs as the original used it: fields in field-number order; a field is
 * written whenever it is present on the object (null/undefined = absent; explicit false, "" and
 * empty bytes are written); repeated fields one entry per element. Decoding skips unknown fields,
 * accepts any field order, and throws on truncated input or a wrong wire type. Absent scalar fields
 * decode as undefined, absent repeated fields as [].
 */
const enc = require('protocol-buffers-encodings')

const Transaction = {
  name: 'Transaction',
  fields: [
    { name: 'id', num: 1, type: 'string' },
    { name: 'return', num: 2, type: 'bool' }
  ]
}
const IntroduceFeeds = {
  name: 'IntroduceFeeds',
  fields: [
    { name: 'transaction', num: 1, type: 'message', schema: Transaction },
    { name: 'keys', num: 2, type: 'bytes', repeated: true }
  ]
}
const Request = {
  name: 'Request',
  fields: [
    { name: 'transaction', num: 1, type: 'message', schema: Transaction },
    { name: 'type', num: 3, type: 'string' },
    { name: 'value', num: 4, type: 'bytes' }
  ]
}
const EphemeralMessage = {
  name: 'EphemeralMessage',
  fields: [
    { name: 'type', num: 1, type: 'string' },
    { name: 'value', num: 2, type: 'bytes' }
  ]
}
const AnyType = {
  name: 'AnyType',
  fields: [
    { name: 'type', num: 1, type: 'string' },
    { name: 'value', num: 2, type: 'bytes' }
  ]
}

const SCHEMAS = { Transaction, IntroduceFeeds, Request, EphemeralMessage, AnyType }
const WIRE = { string: 2, bytes: 2, message: 2, bool: 0 }

function present (v) {
  return v !== undefined && v !== null
}

function varintBytes (n) {
  const buf = Buffer.alloc(enc.varint.encodingLength(n))
  enc.varint.encode(n, buf, 0)
  return buf
}

function encodeScalar (field, value) {
  if (field.type === 'message') {
    const body = encode(field.schema, value)
    return Buffer.concat([varintBytes(body.length), body])
  }
  if (field.type === 'bytes' && !Buffer.isBuffer(value) && !(value instanceof Uint8Array)) {
    throw new TypeError(`${field.name}: bytes field needs a Buffer`)
  }
  if (field.type === 'string' && typeof value !== 'string') throw new TypeError(`${field.name}: string field needs a string`)
  const e = enc[field.type]
  const buf = Buffer.alloc(e.encodingLength(value))
  e.encode(value, buf, 0)
  return buf
}

/** Encodes a plain object with `schema`; returns a Buffer. */
function encode (schema, obj) {
  const parts = []
  for (const field of schema.fields) {
    const v = obj[field.name]
    if (!present(v)) continue
    const tag = varintBytes((field.num << 3) | WIRE[field.type])
    const values = field.repeated ? v : [v]
    if (field.repeated && !Array.isArray(v)) throw new TypeError(`${field.name}: repeated field needs an array`)
    for (const item of values) {
      if (!present(item)) continue
      parts.push(tag, encodeScalar(field, item))
    }
  }
  return Buffer.concat(parts)
}

/** Decodes `buf` with `schema`; returns a plain object. Throws on malformed input. */
function decode (schema, buf, start = 0, end = buf.length) {
  const obj = {}
  for (const f of schema.fields) if (f.repeated) obj[f.name] = []
  let offset = start
  while (offset < end) {
    const tag = readVarint(buf, offset, end)
    offset = tag.next
    const num = Math.floor(tag.value / 8)
    const wire = tag.value & 7
    const field = schema.fields.find((f) => f.num === num)
    if (!field) {
      offset = skip(wire, buf, offset, end)
      continue
    }
    if (WIRE[field.type] !== wire) throw new Error(`${schema.name}.${field.name}: wrong wire type ${wire}`)
    let value
    if (wire === 0) {
      const v = readVarint(buf, offset, end)
      offset = v.next
      value = v.value !== 0
    } else {
      const len = readVarint(buf, offset, end)
      const s = len.next
      const e = s + len.value
      if (e > end) throw new Error(`${schema.name}.${field.name}: length past the end of the message`)
      offset = e
      if (field.type === 'string') value = buf.toString('utf8', s, e)
      else if (field.type === 'bytes') value = Buffer.from(buf.subarray(s, e))
      else value = decode(field.schema, buf, s, e)
    }
    if (field.repeated) obj[field.name].push(value)
    else obj[field.name] = value
  }
  return obj
}

function readVarint (buf, offset, end) {
  let value = 0
  let mul = 1
  for (let i = offset; i < end && i < offset + 10; i++) {
    const b = buf[i]
    value += (b & 0x7f) * mul
    mul *= 128
    if (b < 0x80) return { value, next: i + 1 }
  }
  throw new Error('truncated varint')
}

function skip (wire, buf, offset, end) {
  let next
  if (wire === 0) next = readVarint(buf, offset, end).next
  else if (wire === 1) next = offset + 8
  else if (wire === 5) next = offset + 4
  else if (wire === 2) {
    const len = readVarint(buf, offset, end)
    next = len.next + len.value
  } else throw new Error('unsupported wire type ' + wire)
  if (next > end) throw new Error('unknown field runs past the end of the message')
  return next
}

const INNER = { IntroduceFeeds, Request, EphemeralMessage }

/** Wraps `message` (plain object) of message type `type` in AnyType. */
function encodeAny (type, message) {
  const schema = INNER[type]
  if (!schema) throw new Error('unknown party message type ' + type)
  return encode(AnyType, { type, value: encode(schema, message) })
}

/**
 * Unwraps an AnyType payload: {type, message}; message is null for an unknown type (the caller
 * passes it over, as the original did).
 */
function decodeAny (payload) {
  const any = decode(AnyType, payload)
  if (typeof any.type !== 'string') throw new Error('AnyType without a type')
  const schema = INNER[any.type]
  return { type: any.type, message: schema ? decode(schema, any.value || Buffer.alloc(0)) : null }
}

module.exports = { encode, decode, encodeAny, decodeAny, SCHEMAS }
