/**
 * The dashboard's browser script (served as dashboard/app.js). Plain modern JavaScript, no build
 * step. Every node is built with textContent, never innerHTML, so job data cannot inject markup.
 * Kept free of backticks and dollar-brace so it can live in this template string.
 */
export const DASHBOARD_SCRIPT = String.raw`(() => {
  'use strict'

  const STORAGE_KEY = 'jobmaster.dashboard.credential'
  const JOB_STATUSES = ['SavePending', 'HeldOnMaster', 'AssignedToBucket', 'Queued', 'Processing', 'Succeeded', 'Failed', 'Cancelled']
  const TERMINAL = ['Succeeded', 'Failed', 'Cancelled']
  const RESCHEDULABLE = ['HeldOnMaster', 'AssignedToBucket', 'Queued']
  const BUCKET_STATUSES = ['Active', 'Completing', 'Lost', 'Draining', 'ReadyToDelete']
  const SCHEDULE_STATUSES = ['Active', 'Paused', 'Cancelled', 'Completed', 'Inactive']
  const REFRESH_MS = 5000
  const PAGE = 50

  const $ = (id) => document.getElementById(id)

  function el(tag, props, ...children) {
    const node = document.createElement(tag)
    for (const [key, value] of Object.entries(props || {})) {
      if (value === undefined || value === null || value === false) continue
      if (key === 'class') node.className = value
      else if (key.startsWith('on')) node.addEventListener(key.slice(2), value)
      else node.setAttribute(key, value === true ? '' : String(value))
    }
    for (const child of children.flat(Infinity)) {
      if (child === undefined || child === null || child === false) continue
      node.append(child instanceof Node ? child : document.createTextNode(String(child)))
    }
    return node
  }

  function replace(container, ...children) {
    container.replaceChildren(...children.flat(Infinity).filter((c) => c !== null && c !== undefined && c !== false))
  }

  // ---- credential and API calls

  function credential() {
    try {
      return JSON.parse(sessionStorage.getItem(STORAGE_KEY) || 'null')
    } catch {
      return null
    }
  }

  function authHeaders(cred) {
    return cred.kind === 'bearer' ? { authorization: 'Bearer ' + cred.value } : { 'x-api-key': cred.value }
  }

  function describeError(body, status) {
    if (!body || typeof body !== 'object') return 'HTTP ' + status
    let text = body.error || 'HTTP ' + status
    if (body.reason) text += ': ' + body.reason
    if (Array.isArray(body.issues)) text += ' (' + body.issues.map((i) => i.path + ': ' + i.message).join('; ') + ')'
    return text
  }

  class ApiError extends Error {
    constructor(status, body) {
      super(describeError(body, status))
      this.status = status
    }
  }

  async function api(path, options) {
    const cred = credential()
    if (!cred) {
      showLogin()
      throw new ApiError(401, { error: 'signed out' })
    }
    const method = (options && options.method) || 'GET'
    const headers = Object.assign({ accept: 'application/json' }, authHeaders(cred))
    let body
    if (options && options.body !== undefined) {
      headers['content-type'] = 'application/json'
      body = JSON.stringify(options.body)
    }
    const response = await fetch(path, { method, headers, body, cache: 'no-store' })
    const answer = await response.json().catch(() => null)
    if (response.status === 401) {
      signOut(describeError(answer, 401))
      throw new ApiError(401, answer)
    }
    if (!response.ok) throw new ApiError(response.status, answer)
    return answer
  }

  // ---- formatting

  const pad = (n) => String(n).padStart(2, '0')

  function formatTime(iso) {
    if (!iso) return '—'
    const d = new Date(iso)
    return d.getFullYear() + '-' + pad(d.getMonth() + 1) + '-' + pad(d.getDate()) + ' ' + pad(d.getHours()) + ':' + pad(d.getMinutes()) + ':' + pad(d.getSeconds())
  }

  function formatClock(iso) {
    return iso ? el('span', { title: formatTime(iso) }, formatTime(iso).slice(11)) : '—'
  }

  function formatMs(ms) {
    if (ms === null || ms === undefined) return '—'
    if (ms < 1000) return Math.round(ms) + ' ms'
    if (ms < 60000) return (ms / 1000).toFixed(1) + ' s'
    if (ms < 3600000) return Math.round(ms / 60000) + ' min'
    if (ms < 86400000) return (ms / 3600000).toFixed(1) + ' h'
    return (ms / 86400000).toFixed(1) + ' d'
  }

  function toLocalInput(date) {
    return date.getFullYear() + '-' + pad(date.getMonth() + 1) + '-' + pad(date.getDate()) + 'T' + pad(date.getHours()) + ':' + pad(date.getMinutes())
  }

  const shortId = (id) => (id ? id.slice(0, 8) + '…' + id.slice(-4) : '—')
  const badge = (text, kind) => el('span', { class: 'badge ' + String(kind || text).toLowerCase() }, text)
  const orDash = (value) => (value === null || value === undefined || value === '' ? '—' : value)
  const number = (value) => (value === null || value === undefined ? '—' : Number(value).toLocaleString())

  /** columns: [{ label, cell(row), class }]; options: { empty, onRow(row), rowAttrs(row), selected(row), below(row) } */
  function table(columns, rows, options) {
    const opts = options || {}
    if (rows.length === 0) return el('p', { class: 'empty' }, opts.empty || 'None.')
    const head = el('thead', {}, el('tr', {}, columns.map((c) => el('th', { class: c.class }, c.label))))
    const body = el(
      'tbody',
      {},
      rows.map((row) => {
        const attrs = Object.assign({}, opts.rowAttrs ? opts.rowAttrs(row) : {})
        const classes = []
        if (opts.onRow) classes.push('clickable')
        if (opts.selected && opts.selected(row)) classes.push('selected')
        attrs.class = classes.join(' ') || undefined
        if (opts.onRow) attrs.onclick = () => opts.onRow(row)
        const tr = el('tr', attrs, columns.map((c) => el('td', { class: c.class }, c.cell(row))))
        // A full-width line under the row, for long text (an attempt's error or result).
        const extra = opts.below ? opts.below(row) : null
        return extra ? [tr, el('tr', { class: 'below' }, el('td', { colspan: columns.length }, extra))] : tr
      }),
    )
    return el('div', { class: 'table-wrap' }, el('table', {}, head, body))
  }

  let toastTimer = null
  function toast(message, kind) {
    const node = $('toast')
    node.textContent = message
    node.className = kind || 'ok'
    node.hidden = false
    node.title = 'Click to dismiss'
    clearTimeout(toastTimer)
    toastTimer = setTimeout(() => (node.hidden = true), 5000)
  }

  // ---- cluster health

  function tile(label, value, note, kind) {
    return el('div', { class: 'tile ' + (kind || '') }, el('div', { class: 'tile-value' }, value), el('div', { class: 'tile-label' }, label), note ? el('div', { class: 'tile-note' }, note) : null)
  }

  function renderCluster(cluster) {
    $('cluster-name').textContent = cluster.clusterId
    const mode = $('cluster-mode')
    mode.textContent = cluster.mode
    mode.className = 'badge mode-' + cluster.mode.toLowerCase()
    const select = $('mode-select')
    if (document.activeElement !== select) select.value = cluster.mode
  }

  function renderHealth(byStatus, workers, buckets, connections) {
    const alive = workers.filter((w) => w.alive).length
    const sum = (list, key) => (list.some((x) => x[key] === null) ? null : list.reduce((a, x) => a + x[key], 0))
    const queue = sum(connections, 'queueDepth')
    const inbox = sum(connections, 'inboxDepth')
    const activeBuckets = buckets.filter((b) => b.status === 'Active').length
    const lost = buckets.filter((b) => b.status === 'Lost' || b.status === 'Draining').length
    replace(
      $('health'),
      el(
        'div',
        { class: 'tile-row' },
        tile('Workers alive', alive + ' / ' + workers.length, workers.length - alive > 0 ? workers.length - alive + ' silent' : null, alive === 0 ? 'warn' : ''),
        tile('Active buckets', activeBuckets, lost > 0 ? lost + ' lost or draining' : null, lost > 0 ? 'warn' : ''),
        tile('Queue depth', number(queue), 'jobs in buckets'),
        tile('Inbox depth', number(inbox), 'accepted, not yet ingested'),
        tile('Jobs in master', number(byStatus.total)),
      ),
      el(
        'div',
        { class: 'tile-row statuses' },
        JOB_STATUSES.map((s) => {
          const t = tile(s, number(byStatus.counts[s]), null, 'status status-' + s.toLowerCase())
          t.setAttribute('data-status', s)
          t.title = 'Show ' + s + ' jobs'
          t.addEventListener('click', () => {
            $('job-search').elements.status.value = s
            runSearch(false)
          })
          return t
        }),
      ),
    )
  }

  function renderWorkers(workers) {
    replace(
      $('workers'),
      table(
        [
          { label: 'Name', cell: (w) => el('span', { title: w.id + ' · ' + w.host + ' pid ' + w.pid }, w.name) },
          { label: 'Mode', cell: (w) => w.mode },
          { label: 'Connection', cell: (w) => orDash(w.agentConnection) },
          { label: 'Lane', cell: (w) => w.lane || 'default' },
          { label: 'Heartbeat', class: 'num', cell: (w) => formatMs(w.heartbeatAgeMs) + ' ago' },
          {
            label: 'State',
            cell: (w) => [badge(w.alive ? 'alive' : 'silent', w.alive ? 'alive' : 'dead'), w.stopRequestedAt ? badge('stop requested', 'stopping') : null],
          },
          {
            label: '',
            class: 'actions',
            cell: (w) =>
              el('button', { type: 'button', class: 'small secondary', disabled: Boolean(w.stopRequestedAt), onclick: () => stopWorker(w) }, 'Stop'),
          },
        ],
        workers,
        { empty: 'No worker is registered.', rowAttrs: (w) => ({ 'data-worker-id': w.id }) },
      ),
    )
  }

  function renderConnections(connections) {
    replace(
      $('connections'),
      table(
        [
          { label: 'Name', cell: (c) => c.name },
          { label: 'Provider', cell: (c) => c.provider },
          { label: 'Protected', cell: (c) => (c.protect ? 'yes' : 'no') },
          { label: 'Inbox', class: 'num', cell: (c) => number(c.inboxDepth) },
          { label: 'Buckets', class: 'num', cell: (c) => number(c.buckets) },
          { label: 'Queue', class: 'num', cell: (c) => number(c.queueDepth) },
          { label: 'Last seen', cell: (c) => formatTime(c.lastSeenAt) },
        ],
        connections,
        { empty: 'No agent connection is recorded.' },
      ),
    )
  }

  function renderBuckets(buckets) {
    const counts = BUCKET_STATUSES.map((s) => [s, buckets.filter((b) => b.status === s).length]).filter((entry) => entry[1] > 0)
    replace($('bucket-summary'), counts.map((entry) => badge(entry[0] + ' ' + entry[1], entry[0])))
    replace(
      $('buckets'),
      table(
        [
          { label: 'Connection', cell: (b) => b.agentConnection },
          { label: 'Lane', cell: (b) => b.lane || 'default' },
          { label: 'Priority', cell: (b) => b.priority },
          { label: 'Status', cell: (b) => badge(b.status) },
          { label: 'Owner', cell: (b) => orDash(b.ownerId) },
          { label: 'Depth', class: 'num', cell: (b) => number(b.depth) },
          { label: 'Since', cell: (b) => formatTime(b.statusChangedAt) },
        ],
        buckets,
        { empty: 'No bucket exists: start a worker.' },
      ),
    )
  }

  // ---- schedules

  function recurrence(s) {
    if (s.cron) return s.cron + ' (' + s.effectiveTimeZone + ')'
    return 'every ' + formatMs(s.every)
  }

  function renderSchedules(schedules) {
    const counts = SCHEDULE_STATUSES.map((st) => [st, schedules.filter((s) => s.status === st).length]).filter((entry) => entry[1] > 0)
    replace($('schedule-summary'), counts.map((entry) => badge(entry[0] + ' ' + entry[1], entry[0])))
    const action = (s, operation, label, kind, question) =>
      el('button', { type: 'button', class: 'small ' + (kind || 'secondary'), 'data-operation': operation, onclick: () => scheduleOperation(s, operation, question) }, label)
    replace(
      $('schedules'),
      table(
        [
          { label: 'Schedule', cell: (s) => el('span', { title: s.id }, s.name || shortId(s.id)) },
          { label: 'Kind', cell: (s) => s.kind },
          { label: 'Definition', cell: (s) => s.definition },
          { label: 'When', cell: (s) => recurrence(s) },
          { label: 'Status', cell: (s) => badge(s.status) },
          { label: 'Next run', cell: (s) => formatTime(s.nextRunAt) },
          { label: 'Misfire / overlap', cell: (s) => s.misfire + ' / ' + s.overlap },
          {
            label: '',
            class: 'actions',
            cell: (s) =>
              el(
                'span',
                { class: 'row-actions' },
                s.status === 'Active' ? action(s, 'pause', 'Pause') : null,
                s.status === 'Paused' ? action(s, 'resume', 'Resume') : null,
                s.status === 'Active' || s.status === 'Paused' ? action(s, 'run', 'Run now') : null,
                ['Active', 'Paused', 'Inactive'].includes(s.status) ? action(s, 'cancel', 'Cancel', 'danger', 'Cancel schedule ' + (s.name || s.id) + ' for good?') : null,
                el('button', { type: 'button', class: 'small secondary', onclick: () => showScheduleJobs(s) }, 'Jobs'),
              ),
          },
        ],
        schedules,
        { empty: 'No schedule: declare one in code (defineSchedule) or POST /v1/schedules.', rowAttrs: (s) => ({ 'data-schedule-id': s.id, 'data-status': s.status }) },
      ),
    )
  }

  async function scheduleOperation(schedule, operation, question) {
    if (question && !window.confirm(question)) return
    try {
      const result = await api('v1/schedules/' + encodeURIComponent(schedule.id) + '/' + operation, { method: 'POST', body: {} })
      let message = 'Schedule ' + (schedule.name || shortId(schedule.id)) + ': ' + operation + ' done, now ' + result.schedule.status
      if (result.job) message += ' (job ' + shortId(result.job.id) + ')'
      if (result.withdrawnFromBuckets) message += '; ' + result.withdrawnFromBuckets + ' planned runs withdrawn'
      if (result.ownersNotNotified) message += ' (' + result.ownersNotNotified + ' bucket owners could not be told; those may still run once)'
      toast(message, 'ok')
      loadHealth()
      runSearch(false)
    } catch (error) {
      if (error.status !== 401) toast(operation + ' refused: ' + error.message, 'error')
    }
  }

  function showScheduleJobs(schedule) {
    const form = $('job-search')
    // Only this schedule's jobs: the other filters are cleared (without the form's reset search).
    for (const input of form.querySelectorAll('input, select')) input.value = ''
    form.elements.schedule.value = schedule.id
    runSearch(false)
  }

  let healthLoading = false
  async function loadHealth() {
    if (healthLoading) return
    healthLoading = true
    try {
      const [cluster, byStatus, workers, buckets, connections, schedules] = await Promise.all([
        api('v1/cluster'),
        api('v1/jobs/by-status'),
        api('v1/workers'),
        api('v1/buckets'),
        api('v1/connections'),
        api('v1/schedules'),
      ])
      renderCluster(cluster)
      renderHealth(byStatus, workers.workers, buckets.buckets, connections.connections)
      renderWorkers(workers.workers)
      renderConnections(connections.connections)
      renderBuckets(buckets.buckets)
      renderSchedules(schedules.schedules)
      $('updated').textContent = 'Updated ' + formatTime(new Date().toISOString()).slice(11)
    } catch (error) {
      if (error.status !== 401) toast('Could not load the cluster: ' + error.message, 'error')
    } finally {
      healthLoading = false
    }
  }

  // ---- jobs

  const search = { query: '', cursor: null, jobs: [], selected: null }

  function searchQuery() {
    const form = $('job-search').elements
    const params = new URLSearchParams()
    const text = (name) => form[name].value.trim()
    if (form.status.value) params.set('status', form.status.value)
    if (text('schedule')) params.set('schedule', text('schedule'))
    if (text('definition')) params.set('definition', text('definition'))
    if (text('lane')) params.set('lane', text('lane') === '(default)' ? '' : text('lane'))
    for (const pair of text('metadata').split(',').map((s) => s.trim()).filter(Boolean)) {
      const at = pair.indexOf('=')
      if (at <= 0) throw new Error('metadata filters are key=value pairs, separated by commas')
      params.set('metadata.' + pair.slice(0, at).trim(), pair.slice(at + 1).trim())
    }
    for (const name of ['createdFrom', 'createdTo']) if (form[name].value) params.set(name, new Date(form[name].value).toISOString())
    return params
  }

  async function runSearch(more) {
    let params
    try {
      params = more ? new URLSearchParams(search.query) : searchQuery()
    } catch (error) {
      toast(error.message, 'error')
      return
    }
    const countParams = new URLSearchParams(params)
    params.set('limit', String(PAGE))
    if (more && search.cursor) params.set('cursor', search.cursor)
    try {
      const [page, count] = await Promise.all([api('v1/jobs?' + params), more ? null : api('v1/jobs/count?' + countParams)])
      if (!more) {
        search.query = countParams.toString()
        search.jobs = []
        $('job-count').textContent = count.count.toLocaleString() + ' matching'
      }
      search.jobs = search.jobs.concat(page.jobs)
      search.cursor = page.nextCursor
      renderJobs()
    } catch (error) {
      if (error.status !== 401) toast('Search failed: ' + error.message, 'error')
    }
  }

  function renderJobs() {
    replace(
      $('job-results'),
      table(
        [
          { label: 'Job', cell: (j) => el('code', { title: j.id }, shortId(j.id)) },
          { label: 'Definition', cell: (j) => j.definition },
          { label: 'Status', cell: (j) => badge(j.status) },
          { label: 'Priority', cell: (j) => j.priority },
          { label: 'Lane', cell: (j) => j.lane || 'default' },
          { label: 'Scheduled', cell: (j) => formatTime(j.scheduledAt) },
          { label: 'Attempts', class: 'num', cell: (j) => j.attemptCount },
        ],
        search.jobs,
        {
          empty: 'No job matches.',
          onRow: (j) => showJob(j.id),
          rowAttrs: (j) => ({ 'data-job-id': j.id, 'data-status': j.status }),
          selected: (j) => j.id === search.selected,
        },
      ),
      search.cursor ? el('button', { type: 'button', class: 'secondary more', onclick: () => runSearch(true) }, 'Load more') : null,
    )
  }

  function field(label, value) {
    return [el('dt', {}, label), el('dd', {}, value)]
  }

  async function showJob(id) {
    search.selected = id
    renderJobs()
    let job
    try {
      job = await api('v1/jobs/' + encodeURIComponent(id))
    } catch (error) {
      if (error.status !== 401) toast('Could not load job: ' + error.message, 'error')
      return
    }
    const actions = el('div', { class: 'job-actions' })
    if (!TERMINAL.includes(job.status) && job.status !== 'SavePending') {
      actions.append(el('button', { type: 'button', class: 'danger', onclick: () => jobOperation(job, 'cancel', 'Cancel job ' + job.id + '?') }, 'Cancel job'))
    }
    if (job.status === 'Failed') {
      actions.append(el('button', { type: 'button', onclick: () => jobOperation(job, 'retry', null) }, 'Retry job'))
    }
    if (RESCHEDULABLE.includes(job.status)) {
      const input = el('input', { type: 'datetime-local', value: toLocalInput(new Date(Date.now() + 5 * 60000)), 'aria-label': 'New time' })
      actions.append(
        el(
          'span',
          { class: 'reschedule' },
          input,
          el('button', { type: 'button', class: 'secondary', onclick: () => input.value && jobOperation(job, 'reschedule', null, { runAt: new Date(input.value).toISOString() }) }, 'Reschedule'),
        ),
      )
    }
    const metadata = Object.entries(job.metadata || {})
    replace(
      $('job-detail'),
      el('div', { class: 'detail-head' }, el('h4', {}, job.definition, ' ', badge(job.status)), el('code', { class: 'job-id' }, job.id)),
      actions.childElementCount > 0 ? actions : null,
      el(
        'dl',
        {},
        field('Priority', job.priority),
        field('Lane', job.lane || 'default'),
        field('Scheduled', formatTime(job.scheduledAt)),
        formatTime(job.originalScheduledAt) !== formatTime(job.scheduledAt) ? field('Originally', formatTime(job.originalScheduledAt)) : [],
        field('Created', formatTime(job.createdAt)),
        field('Finished', formatTime(job.finishedAt)),
        field('Attempts', job.attemptCount + ' of ' + (job.maxRetries + 1)),
        field('Timeout', formatMs(job.timeoutMs)),
        field('Connection', orDash(job.agentConnection)),
        field('Bucket', orDash(job.bucketId)),
        field('Worker', orDash(job.workerId)),
        job.idempotencyKey ? field('Idempotency key', job.idempotencyKey) : [],
        job.scheduleId ? field('Schedule', el('code', {}, job.scheduleId)) : [],
        job.occurrenceAt ? field('Occurrence', formatTime(job.occurrenceAt)) : [],
        field('Metadata', metadata.length ? metadata.map((e) => e[0] + '=' + e[1]).join(', ') : '—'),
      ),
      job.lastError ? [el('h5', {}, 'Last error'), el('pre', { class: 'error-text' }, job.lastError)] : null,
      el('h5', {}, 'Attempts'),
      table(
        [
          { label: '#', class: 'num', cell: (a) => a.attempt },
          { label: 'Outcome', cell: (a) => badge(a.outcome) },
          { label: 'Started', cell: (a) => formatClock(a.startedAt) },
          { label: 'Duration', class: 'num', cell: (a) => formatMs(a.durationMs) },
          { label: 'Worker', cell: (a) => orDash(a.workerId) },
        ],
        job.attempts,
        {
          empty: 'Not run yet.',
          rowAttrs: (a) => ({ 'data-outcome': a.outcome }),
          below: (a) =>
            a.error ? el('span', { class: 'error-text' }, a.error) : a.result !== null ? el('code', { class: 'result' }, 'result: ' + JSON.stringify(a.result)) : null,
        },
      ),
      el('h5', {}, 'Payload'),
      el('pre', { class: 'payload' }, JSON.stringify(job.payload, null, 2)),
    )
  }

  async function jobOperation(job, operation, question, body) {
    if (question && !window.confirm(question)) return
    try {
      const result = await api('v1/jobs/' + encodeURIComponent(job.id) + '/' + operation, { method: 'POST', body: body || {} })
      let message = 'Job ' + shortId(job.id) + ': ' + operation + ' done, now ' + result.job.status
      if (result.ownerNotified === false) message += ' (its bucket owner could not be told; it may still run once)'
      toast(message, 'ok')
      const index = search.jobs.findIndex((j) => j.id === job.id)
      if (index >= 0) search.jobs[index] = result.job
      await showJob(job.id)
      loadHealth()
    } catch (error) {
      if (error.status !== 401) toast(operation + ' refused: ' + error.message, 'error')
    }
  }

  async function stopWorker(worker) {
    if (!window.confirm('Ask worker ' + worker.name + ' to stop gracefully?')) return
    try {
      await api('v1/workers/' + encodeURIComponent(worker.id) + '/stop', { method: 'POST', body: {} })
      toast('Stop requested: ' + worker.name + ' stops on its next heartbeat', 'ok')
      loadHealth()
    } catch (error) {
      if (error.status !== 401) toast('Stop refused: ' + error.message, 'error')
    }
  }

  async function applyMode() {
    const mode = $('mode-select').value
    if (!window.confirm('Switch the cluster to ' + mode + ' mode?')) return
    try {
      const result = await api('v1/cluster/mode', { method: 'POST', body: { mode } })
      toast('Cluster mode: ' + result.previousMode + ' → ' + result.cluster.mode, 'ok')
      loadHealth()
    } catch (error) {
      if (error.status !== 401) toast('Mode change refused: ' + error.message, 'error')
    }
  }

  // ---- sign-in and start-up

  let timer = null

  function showLogin(message) {
    clearInterval(timer)
    $('app-view').hidden = true
    $('controls').hidden = true
    $('login-view').hidden = false
    const error = $('login-error')
    error.textContent = message || ''
    error.hidden = !message
    $('login-value').focus()
  }

  function signOut(message) {
    sessionStorage.removeItem(STORAGE_KEY)
    showLogin(message)
  }

  function showApp() {
    const cred = credential()
    $('login-view').hidden = true
    $('app-view').hidden = false
    $('controls').hidden = false
    $('signed-in').textContent = 'Signed in with ' + (cred.kind === 'bearer' ? 'a bearer token' : 'an API key')
    loadHealth().then(() => runSearch(false))
    clearInterval(timer)
    timer = setInterval(() => {
      if ($('auto-refresh').checked && document.visibilityState === 'visible') loadHealth()
    }, REFRESH_MS)
  }

  document.addEventListener('DOMContentLoaded', () => {
    const statusSelect = $('job-search').elements.status
    for (const s of JOB_STATUSES) statusSelect.append(el('option', { value: s }, s))
    $('login-form').addEventListener('submit', (event) => {
      event.preventDefault()
      const value = $('login-value').value.trim()
      if (!value) return
      sessionStorage.setItem(STORAGE_KEY, JSON.stringify({ kind: $('login-kind').value, value }))
      $('login-value').value = ''
      showApp()
    })
    $('job-search').addEventListener('submit', (event) => {
      event.preventDefault()
      runSearch(false)
    })
    $('job-search').addEventListener('reset', () => setTimeout(() => runSearch(false)))
    $('refresh').addEventListener('click', () => {
      loadHealth()
      runSearch(false)
    })
    $('mode-apply').addEventListener('click', applyMode)
    $('sign-out').addEventListener('click', () => signOut())
    $('toast').addEventListener('click', () => ($('toast').hidden = true))
    if (credential()) showApp()
    else showLogin()
  })
})()
`
