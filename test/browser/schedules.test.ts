import { mkdirSync } from 'node:fs'
import type { AddressInfo } from 'node:net'
import { resolve } from 'node:path'
import { serve, type ServerType } from '@hono/node-server'
import { chromium, type Browser, type Page } from 'playwright-core'
import { afterAll, beforeAll, expect, test } from 'vitest'
import { defineSchedule } from '../../core/schedules/spec.js'
import { createApiApp } from '../../functions/api.js'
import { apiKeyEntry, newApiKey } from '../../functions/auth.js'
import { echo, noop } from '../../jobs/definitions.js'
import { startTestCluster, type TestCluster } from '../support/cluster.js'
import { waitFor } from '../support/wait.js'

/** Debian's chromium, as CI installs it (see dashboard.test.ts). */
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
  cluster = await startTestCluster({ staticSchedules: [defineSchedule({ name: 'reports.nightly', job: echo, cron: '0 2 * * *', timeZone: 'Europe/Berlin', payload: { report: 'nightly' } })] })
  await cluster.startWorker({ name: 'schedules-worker', gracePeriod: 200 })
  const app = createApiApp(cluster.ctx, { auth: { apiKeys: [apiKeyEntry('browser', key)], users: [], jwt: null } })
  server = await new Promise<ServerType>((done) => {
    const s = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' }, () => done(s))
  })
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: FLAGS })
  page = await browser.newPage({ viewport: { width: 1440, height: 1100 } })
  mkdirSync(OUTPUT, { recursive: true })
})

afterAll(async () => {
  await browser?.close()
  await new Promise((done) => server?.close(done))
  await cluster?.close()
})

test('the dashboard lists schedules, pauses and runs one, and shows the jobs it created', async () => {
  const { id } = await cluster.producer.schedule(noop, '2s', { name: 'heartbeat' })
  await waitFor('the dynamic schedule ran', async () => (await cluster.ctx.master.countJobs('test', { scheduleId: id, status: 'Succeeded' })) >= 2)

  const pageErrors: string[] = []
  page.on('pageerror', (error) => pageErrors.push(error.message))
  page.on('dialog', (dialog) => void dialog.accept())
  await page.goto(`${base}/dashboard`)
  await page.fill('#login-value', key)
  await page.click('#login-form button[type=submit]')
  await page.waitForSelector(`#schedules tr[data-schedule-id="${id}"]`)
  const text = await page.textContent('#schedules')
  expect(text).toContain('reports.nightly')
  expect(text).toContain('0 2 * * * (Europe/Berlin)')
  expect(text).toContain('heartbeat')
  expect(text).toContain('every 2.0 s')

  // Pause the dynamic schedule.
  await page.click(`#schedules tr[data-schedule-id="${id}"] button[data-operation=pause]`)
  await page.waitForSelector(`#schedules tr[data-schedule-id="${id}"][data-status="Paused"]`)
  expect((await cluster.ctx.master.getSchedule('test', id))!.status).toBe('Paused')
  expect(await page.textContent('#toast')).toContain('pause done, now Paused')

  // Run it once while paused.
  await page.click('#toast')
  await page.click(`#schedules tr[data-schedule-id="${id}"] button[data-operation=run]`)
  await page.waitForSelector('#toast:not([hidden])')
  expect(await page.textContent('#toast')).toMatch(/run done, now Paused \(job /)

  // Its jobs, each showing the schedule it came from.
  await page.click(`#schedules tr[data-schedule-id="${id}"] button:has-text("Jobs")`)
  await expect.poll(() => page.locator('#job-results tr[data-job-id]').count()).toBeGreaterThanOrEqual(3)
  expect(await page.inputValue('#job-search input[name=schedule]')).toBe(id)
  // Planned occurrences fill the newest pages (withdrawn by the pause): narrow to the runs.
  await page.selectOption('#job-search select[name=status]', 'Succeeded')
  await page.click('#job-search button[type=submit]')
  await expect.poll(() => page.locator('#job-results tr[data-job-id][data-status="Succeeded"]').count()).toBeGreaterThanOrEqual(2)
  const occurrence = (await cluster.ctx.master.listJobs('test', { scheduleId: id, status: 'Succeeded' }, 50)).find((j) => j.occurrenceAt !== null)!
  await page.click(`#job-results tr[data-job-id="${occurrence.id}"]`)
  await page.waitForSelector('#job-detail tr[data-outcome="Succeeded"]')
  const detail = await page.textContent('#job-detail')
  expect(detail).toContain(id)
  expect(detail).toContain('Occurrence')
  await page.screenshot({ path: resolve(OUTPUT, 'dashboard-schedules.png'), fullPage: true })
  expect(pageErrors).toEqual([])
})
