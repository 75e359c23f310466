import { mkdirSync } from 'node:fs'
import type { AddressInfo } from 'node:net'
import { resolve } from 'node:path'
import { serve, type ServerType } from '@hono/node-server'
import { chromium, type Browser, type Page } from 'playwright-core'
import { afterAll, beforeAll, expect, test } from 'vitest'
import { createApiApp } from '../../functions/api.js'
import { apiKeyEntry, newApiKey } from '../../functions/auth.js'
import { echo, fail, sleep } from '../../jobs/definitions.js'
import { startTestCluster, type TestCluster } from '../support/cluster.js'
import { waitFor } from '../support/wait.js'

/** Debian's chromium, as CI installs it (PLATFORM.md: `npx playwright install` cannot work here). */
const CHROMIUM = '/usr/bin/chromium'
const FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run']
const OUTPUT = resolve(import.meta.dirname, '../../test-output')

const key = newApiKey()
let cluster: TestCluster
let server: ServerType
let browser: Browser
let page: Page
let base: string

beforeAll(async () => {
  cluster = await startTestCluster()
  // A short grace period: closing the cluster interrupts the long sleep job instead of waiting for it.
  await cluster.startWorker({ name: 'local-worker', gracePeriod: 200 })
  const app = createApiApp(cluster.ctx, { auth: { apiKeys: [apiKeyEntry('browser', key)], users: [], jwt: null } })
  server = await new Promise<ServerType>((done) => {
    const s = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' }, () => done(s))
  })
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: FLAGS })
  page = await browser.newPage({ viewport: { width: 1440, height: 1000 } })
  mkdirSync(OUTPUT, { recursive: true })
})

afterAll(async () => {
  await browser?.close()
  await new Promise((done) => server?.close(done))
  await cluster?.close()
})

const jobStatus = async (id: string) => (await cluster.ctx.master.getJob('test', id))?.status

test('the dashboard shows a job that just ran and cancels a delayed one', async () => {
  const ran = await cluster.producer.enqueue(echo, { greeting: 'hello from the browser test' }, { metadata: { tenant: 'acme' } })
  const failed = await cluster.producer.enqueue(fail, { message: 'the payment provider answered 503' }, { maxRetries: 1 })
  const delayed = await cluster.producer.enqueue(echo, { report: 'monthly' }, { delay: '1h', priority: 'high' })
  await cluster.producer.enqueue(sleep, { ms: 60_000 })
  await cluster.producer.enqueue(echo, { soon: true }, { delay: '5m', priority: 'critical' })
  await waitFor('jobs in place', async () => (await jobStatus(ran.id)) === 'Succeeded' && (await jobStatus(failed.id)) === 'Failed' && (await jobStatus(delayed.id)) === 'HeldOnMaster')

  const pageErrors: string[] = []
  page.on('pageerror', (error) => pageErrors.push(error.message))
  page.on('dialog', (dialog) => void dialog.accept())
  await page.goto(`${base}/dashboard`)

  // A wrong key is refused by the API and the page says so.
  await page.fill('#login-value', 'not-the-right-key-at-all')
  await page.click('#login-form button[type=submit]')
  await page.waitForSelector('#login-error:not([hidden])')
  expect(await page.textContent('#login-error')).toContain('invalid API key')

  await page.fill('#login-value', key)
  await page.click('#login-form button[type=submit]')
  await page.waitForSelector('#app-view:not([hidden])')
  expect(await page.evaluate('sessionStorage.length')).toBe(1)

  // Cluster health: the worker, its buckets, the connection.
  await page.waitForSelector('#workers tr[data-worker-id]')
  expect(await page.textContent('#workers')).toContain('local-worker')
  expect(await page.textContent('#health')).toContain('1 / 1')
  expect(await page.textContent('#connections')).toContain('standalone')
  expect(await page.textContent('#cluster-mode')).toBe('Active')

  // The job that just ran: its attempt and result.
  await page.click(`#job-results tr[data-job-id="${ran.id}"]`)
  await page.waitForSelector('#job-detail tr[data-outcome="Succeeded"]')
  expect(await page.textContent('#job-detail')).toContain('hello from the browser test')

  // Search by metadata finds exactly that job.
  await page.fill('#job-search input[name=metadata]', 'tenant=acme')
  await page.click('#job-search button[type=submit]')
  await expect.poll(() => page.locator('#job-results tr[data-job-id]').count()).toBe(1)
  expect(await page.textContent('#job-count')).toBe('1 matching')
  await page.click('#job-search button[type=reset]')
  await expect.poll(() => page.locator('#job-results tr[data-job-id]').count()).toBe(5)

  // Cancel the delayed job.
  await page.click(`#job-results tr[data-job-id="${delayed.id}"]`)
  await page.waitForSelector('#job-detail button.danger')
  await page.click('#job-detail button.danger')
  await page.waitForSelector('#toast:not([hidden])')
  expect(await page.textContent('#toast')).toContain('cancel done, now Cancelled')
  await page.waitForSelector(`#job-results tr[data-job-id="${delayed.id}"][data-status="Cancelled"]`)
  expect(await jobStatus(delayed.id)).toBe('Cancelled')
  await page.screenshot({ path: resolve(OUTPUT, 'dashboard.png'), fullPage: true })

  // The failed job: both attempts and their errors.
  await page.click('#toast')
  await page.click(`#job-results tr[data-job-id="${failed.id}"]`)
  await expect.poll(() => page.locator('#job-detail tr[data-outcome="Failed"]').count()).toBe(2)
  expect(await page.textContent('#job-detail')).toContain('the payment provider answered 503')
  await page.screenshot({ path: resolve(OUTPUT, 'dashboard-failed-job.png'), fullPage: true })
  expect(pageErrors).toEqual([])
})
