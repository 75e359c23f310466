import { expect, test } from 'vitest'
import type { BucketRecord } from './model.js'
import { pickBucket } from './routing.js'

const b = (id: string, over: Partial<BucketRecord> = {}): BucketRecord => ({ id, clusterId: 'c', agentConnection: 'a', priority: 'medium', lane: null, status: 'Active', ownerId: 'w1', createdAt: new Date(), statusChangedAt: new Date(), ...over })

test('only active buckets of the same priority and lane qualify', () => {
  const buckets = [b('hi', { priority: 'high' }), b('lane', { lane: 'L' }), b('done', { status: 'Completing' }), b('ok')]
  expect(pickBucket(buckets, { priority: 'medium', lane: null })?.id).toBe('ok')
  expect(pickBucket(buckets, { priority: 'medium', lane: 'L' })?.id).toBe('lane')
  expect(pickBucket(buckets, { priority: 'low', lane: null })).toBeNull()
})

test('the preferred owner comes first, an excluded bucket never', () => {
  const buckets = [b('x', { ownerId: 'w1' }), b('y', { ownerId: 'w2' })]
  for (let i = 0; i < 20; i++) expect(pickBucket(buckets, { priority: 'medium', lane: null }, { preferOwner: 'w2' })?.id).toBe('y')
  for (let i = 0; i < 20; i++) expect(pickBucket(buckets, { priority: 'medium', lane: null }, { exclude: 'x' })?.id).toBe('y')
})
