/** The dashboard page: structure only; dashboard/app.js fills it from the management API. */
export const DASHBOARD_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>JobMaster dashboard</title>
<link rel="stylesheet" href="dashboard/style.css">
<script src="dashboard/app.js" defer></script>
</head>
<body>
<header class="topbar">
  <div class="brand">
    <span class="logo">JobMaster</span>
    <span id="cluster-name" class="cluster"></span>
    <span id="cluster-mode" class="badge"></span>
  </div>
  <div id="controls" class="controls" hidden>
    <span id="updated" class="muted"></span>
    <label class="inline"><input type="checkbox" id="auto-refresh" checked> Auto-refresh</label>
    <button type="button" id="refresh">Refresh</button>
    <label class="inline">Mode
      <select id="mode-select"><option>Active</option><option>Passive</option><option>Archive</option></select>
    </label>
    <button type="button" id="mode-apply">Apply mode</button>
    <span id="signed-in" class="muted"></span>
    <button type="button" id="sign-out" class="secondary">Sign out</button>
  </div>
</header>

<main id="login-view" hidden>
  <form id="login-form" class="card login">
    <h2>Sign in</h2>
    <p class="muted">This page calls the management API with the credential you give here. It is kept in this tab's session storage only.</p>
    <label>Credential
      <select id="login-kind">
        <option value="api-key">API key (x-api-key)</option>
        <option value="bearer">Bearer token (JWT)</option>
      </select>
    </label>
    <label>Value <input type="password" id="login-value" autocomplete="off" required></label>
    <p id="login-error" class="error" hidden></p>
    <button type="submit">Sign in</button>
  </form>
</main>

<main id="app-view" hidden>
  <section>
    <h2>Cluster health</h2>
    <div id="health" class="tiles"></div>
  </section>
  <section class="columns">
    <div class="card"><h3>Workers</h3><div id="workers"></div></div>
    <div class="card"><h3>Agent connections</h3><div id="connections"></div></div>
  </section>
  <section class="card">
    <h3>Buckets <span id="bucket-summary" class="summary"></span></h3>
    <div id="buckets"></div>
  </section>
  <section class="card">
    <h3>Schedules <span id="schedule-summary" class="summary"></span></h3>
    <div id="schedules"></div>
  </section>
  <section class="card">
    <h3>Jobs <span id="job-count" class="summary"></span></h3>
    <form id="job-search" class="search">
      <label>Status <select name="status"><option value="">any</option></select></label>
      <label>Definition <input name="definition" placeholder="any"></label>
      <label>Lane <input name="lane" placeholder="any, or (default)"></label>
      <label>Metadata <input name="metadata" placeholder="key=value, key=value"></label>
      <label>Schedule <input name="schedule" placeholder="schedule id"></label>
      <label>Created from <input name="createdFrom" type="datetime-local"></label>
      <label>Created to <input name="createdTo" type="datetime-local"></label>
      <div class="search-buttons"><button type="submit">Search</button><button type="reset" class="secondary">Clear</button></div>
    </form>
    <div class="jobs">
      <div id="job-results"></div>
      <aside id="job-detail" class="detail"><p class="empty">Select a job to see its attempts and operations.</p></aside>
    </div>
  </section>
</main>
<div id="toast" role="status" hidden></div>
</body>
</html>
`
