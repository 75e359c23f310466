import fc from 'fast-check'
import { PRIORITIES } from '../../core/model.js'

/** Strings attackers and accidents send: SQL, JSON-path and shell injection, traversal, odd Unicode, NUL, unpaired surrogates. */
export const NASTY_STRINGS = [
  "'; DROP TABLE jm_jobs; --",
  "' OR '1'='1",
  '" OR ""="',
  "1); DELETE FROM jm_workers WHERE (1=1",
  '$1',
  '%',
  '_',
  '\\',
  '\\u0000',
  '\u0000',
  'a\u0000b',
  '\ud800',
  '\udfff x',
  '😀',
  '\u202e\u0644\u0627',
  '\r\n\t',
  '${process.env.JM_MASTER_URL}',
  '{{7*7}}',
  '../../../etc/passwd',
  '<script>alert(1)</script>',
  '{"$gt": ""}',
  "$.metadata ? (@ == 1)",
  '__proto__',
  'constructor',
  'NULL',
  'null',
  '',
  ' ',
  'x'.repeat(1001),
  'y'.repeat(70_000),
]

export const nastyString = fc.constantFrom(...NASTY_STRINGS)
/** Any text: printable, full Unicode (unpaired surrogates included), or one of the nasty ones. */
export const anyText = fc.oneof(fc.string(), fc.string({ unit: 'binary' }), fc.string({ unit: 'grapheme' }), nastyString)

/** A value nested `depth` levels of arrays and objects deep (kept shallow enough for JSON.stringify). */
export function nestedValue(depth: number): unknown {
  let value: unknown = 'bottom'
  for (let i = 0; i < depth; i++) value = i % 2 ? [value] : { a: value }
  return value
}
/** The JSON text of nestedValue(depth), built as text: any depth, even where JSON.stringify would overflow. */
export function nestedText(depth: number): string {
  let open = ''
  let close = ''
  for (let i = depth - 1; i >= 0; i--) open += i % 2 ? '[' : '{"a":'
  for (let i = 0; i < depth; i++) close += i % 2 ? ']' : '}'
  return `${open}"bottom"${close}`
}
export const shallowDepth = fc.integer({ min: 0, max: 40 })
export const anyDepth = fc.oneof(shallowDepth, fc.constantFrom(1000, 5000, 50_000))

export const anyPayload = fc.oneof(
  fc.jsonValue(),
  fc.jsonValue({ depthSize: 'large' }),
  fc.dictionary(anyText, anyText),
  fc.record({ ms: fc.oneof(fc.integer({ min: -10, max: 100 }), anyText) }),
  shallowDepth.map(nestedValue),
)

const anyTime = fc.oneof(fc.date({ noInvalidDate: false }).map((d) => (Number.isNaN(d.getTime()) ? 'not a date' : d.toISOString())), anyText, fc.integer())
export const anyDuration = fc.oneof(fc.integer({ min: -1e9, max: 1e12 }), fc.double(), fc.constantFrom('30s', '1m', '-5s', '1y', '2h30m', 'abc', '1e3'), anyText)

/** The body of a job request: each field absent, valid, or arbitrary (unknown fields included). */
export const jobRequest = fc.record(
  {
    definition: fc.oneof(fc.constantFrom('echo', 'noop', 'sleep', 'fail'), anyText, fc.jsonValue()),
    payload: anyPayload,
    runAt: anyTime,
    delay: anyDuration,
    priority: fc.oneof(fc.constantFrom(...PRIORITIES), anyText, fc.jsonValue()),
    lane: fc.oneof(fc.constantFrom('Payroll', 'long-run_2', null), anyText),
    timeout: anyDuration,
    maxRetries: fc.oneof(fc.integer({ min: -5, max: 30 }), fc.double(), anyText),
    metadata: fc.oneof(fc.dictionary(fc.oneof(fc.constantFrom('tenant', 'order-id'), anyText), anyText, { maxKeys: 60 }), fc.dictionary(anyText, fc.jsonValue()), fc.jsonValue()),
    idempotencyKey: fc.oneof(fc.uuid(), anyText, fc.integer()),
    colour: fc.jsonValue(),
  },
  { requiredKeys: [] },
)

/** A job request valid in shape, with arbitrary data where data is allowed (payload, metadata values). */
export const plausibleJobRequest = fc.record(
  {
    definition: fc.constant('echo'),
    payload: anyPayload,
    priority: fc.constantFrom(...PRIORITIES),
    lane: fc.constantFrom('Payroll', 'long-run_2', null),
    metadata: fc.dictionary(fc.constantFrom('tenant', 'order-id', 'note'), anyText),
    idempotencyKey: fc.uuid(),
  },
  { requiredKeys: ['definition'] },
)

/** Raw request bodies: JSON of any shape, broken JSON, not JSON at all. */
export const rawBody = fc.oneof(
  fc.jsonValue().map((v) => JSON.stringify(v)),
  jobRequest.map((v) => JSON.stringify(v)),
  jobRequest.map((v) => JSON.stringify(v)).chain((text) => fc.integer({ min: 0, max: text.length }).map((cut) => text.slice(0, cut))),
  anyText,
  anyDepth.map((depth) => `{"definition":"echo","payload":${nestedText(depth)}}`),
  fc.constantFrom('', 'null', '[]', '{', '{"jobs":', '{"jobs":[]}', '{"jobs":{}}', `{"jobs":[${'{"definition":"noop"},'.repeat(1000)}{"definition":"noop"}]}`),
)

export const contentType = fc.constantFrom('application/json', 'application/json; charset=utf-8', 'application/vnd.api+json', 'text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x', '')
