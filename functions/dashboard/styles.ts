/** The dashboard's stylesheet (served as dashboard/style.css). */
export const DASHBOARD_STYLES = String.raw`
:root {
  --bg: #f5f6f8; --card: #fff; --line: #e3e6eb; --text: #1d2330; --muted: #6b7385; --accent: #2f5bd3;
  --green: #1f8a4c; --red: #c6373b; --amber: #b7791f; --blue: #2f5bd3; --purple: #7048c6; --cyan: #128197; --grey: #6b7385;
  font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; font-size: 14px; color: var(--text); background: var(--bg);
}
* { box-sizing: border-box; }
[hidden] { display: none !important; }
body { margin: 0; }
h2 { font-size: 16px; margin: 0 0 10px; }
h3 { font-size: 15px; margin: 0 0 10px; display: flex; align-items: center; gap: 8px; flex-wrap: wrap; }
h4 { font-size: 15px; margin: 0; display: flex; align-items: center; gap: 8px; }
h5 { font-size: 12px; text-transform: uppercase; letter-spacing: .04em; color: var(--muted); margin: 16px 0 6px; }
code, pre { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-size: 12px; }
pre { background: #f1f3f6; border: 1px solid var(--line); border-radius: 6px; padding: 8px 10px; margin: 0; overflow: auto; max-height: 240px; white-space: pre-wrap; word-break: break-word; }
.muted { color: var(--muted); }
.error, .error-text { color: var(--red); }
pre.error-text { background: #fdf1f1; border-color: #f3caca; }

.topbar { position: sticky; top: 0; z-index: 2; display: flex; align-items: center; justify-content: space-between; gap: 16px; flex-wrap: wrap;
  padding: 10px 20px; background: #1d2330; color: #fff; }
.topbar .muted { color: #aab1c0; }
.brand { display: flex; align-items: center; gap: 10px; }
.logo { font-weight: 700; font-size: 16px; letter-spacing: .02em; }
.cluster { color: #cfd5e2; }
.controls { display: flex; align-items: center; gap: 10px; flex-wrap: wrap; }
.controls select { padding: 3px 6px; }
label.inline { display: inline-flex; align-items: center; gap: 6px; }

main { padding: 18px 20px 40px; max-width: 1500px; margin: 0 auto; display: grid; gap: 18px; }
.card { background: var(--card); border: 1px solid var(--line); border-radius: 8px; padding: 14px 16px; min-width: 0; }
.columns { display: grid; grid-template-columns: 1fr 1fr; gap: 18px; }
@media (max-width: 1100px) { .columns { grid-template-columns: 1fr; } }

.tiles { display: grid; gap: 10px; }
.tile-row { display: grid; grid-template-columns: repeat(auto-fit, minmax(150px, 1fr)); gap: 10px; }
.tile { background: var(--card); border: 1px solid var(--line); border-radius: 8px; padding: 10px 14px; }
.tile-value { font-size: 22px; font-weight: 650; font-variant-numeric: tabular-nums; }
.tile-label { color: var(--muted); font-size: 12px; margin-top: 2px; }
.tile-note { color: var(--muted); font-size: 12px; margin-top: 2px; }
.tile.warn { border-color: #f0d29a; background: #fffaf0; }
.tile.warn .tile-note { color: var(--amber); }
.tile.status { cursor: pointer; border-left-width: 4px; padding: 8px 12px; }
.tile.status .tile-value { font-size: 18px; }
.tile.status:hover { background: #f8f9fb; }
.status-savepending { border-left-color: var(--grey); } .status-heldonmaster { border-left-color: var(--purple); }
.status-assignedtobucket { border-left-color: var(--blue); } .status-queued { border-left-color: var(--cyan); }
.status-processing { border-left-color: var(--amber); } .status-succeeded { border-left-color: var(--green); }
.status-failed { border-left-color: var(--red); } .status-cancelled { border-left-color: #3d4454; }

.table-wrap { overflow-x: auto; }
table { width: 100%; border-collapse: collapse; }
th { text-align: left; font-weight: 600; font-size: 12px; color: var(--muted); border-bottom: 1px solid var(--line); padding: 6px 8px; white-space: nowrap; }
td { border-bottom: 1px solid #eff1f4; padding: 6px 8px; vertical-align: top; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
td.actions { text-align: right; }
tr.clickable { cursor: pointer; }
tr.clickable:hover td { background: #f5f7fb; }
tr.selected td { background: #eaf0ff; }
tr.below td { padding-top: 0; font-size: 12px; word-break: break-word; }
tr:has(+ tr.below) td { border-bottom: none; }
code.result { color: var(--muted); }
.empty { color: var(--muted); margin: 6px 0; }
.summary { display: inline-flex; gap: 6px; font-weight: 400; font-size: 12px; color: var(--muted); }

.badge { display: inline-block; padding: 1px 8px; border-radius: 10px; font-size: 12px; font-weight: 600; line-height: 18px; white-space: nowrap;
  background: #eceef2; color: #3d4454; margin-right: 4px; }
.badge.succeeded, .badge.alive, .badge.active, .badge.mode-active { background: #e3f4ea; color: var(--green); }
.badge.failed, .badge.timedout, .badge.dead, .badge.lost, .badge.workerlost { background: #fbe7e7; color: var(--red); }
.badge.processing, .badge.completing, .badge.stopping, .badge.interrupted, .badge.mode-passive { background: #fcf1dc; color: var(--amber); }
.badge.draining { background: #fdebdd; color: #b4541a; }
.badge.assignedtobucket { background: #e6edfc; color: var(--blue); }
.badge.heldonmaster { background: #efe9fb; color: var(--purple); }
.badge.queued { background: #e0f3f6; color: var(--cyan); }
.badge.cancelled, .badge.mode-archive { background: #e4e6ea; color: #3d4454; }
.badge.paused { background: #fcf1dc; color: var(--amber); }
.badge.inactive, .badge.completed { background: #eceef2; color: var(--muted); }
.row-actions { display: flex; gap: 6px; flex-wrap: wrap; }

button { font: inherit; padding: 5px 12px; border-radius: 6px; border: 1px solid var(--accent); background: var(--accent); color: #fff; cursor: pointer; }
button:hover { filter: brightness(1.08); }
button.secondary { background: #fff; color: var(--accent); border-color: #c5d1f3; }
button.danger { background: var(--red); border-color: var(--red); }
button.small { padding: 2px 10px; font-size: 12px; }
button:disabled { opacity: .45; cursor: default; filter: none; }
input, select { font: inherit; padding: 5px 8px; border: 1px solid #cdd2db; border-radius: 6px; background: #fff; color: var(--text); min-width: 0; }

.login { max-width: 420px; margin: 60px auto; display: grid; gap: 12px; }
.login label { display: grid; gap: 4px; font-weight: 600; }
.login p { margin: 0; }

.search { display: grid; grid-template-columns: repeat(auto-fit, minmax(170px, 1fr)); gap: 10px; align-items: end; margin-bottom: 12px; }
.search label { display: grid; gap: 4px; font-size: 12px; color: var(--muted); }
.search-buttons { display: flex; gap: 8px; }
.jobs { display: grid; grid-template-columns: minmax(0, 3fr) minmax(0, 2fr); gap: 18px; align-items: start; }
@media (max-width: 1100px) { .jobs { grid-template-columns: 1fr; } }
.more { margin-top: 10px; }
.detail { border-left: 1px solid var(--line); padding-left: 18px; min-width: 0; }
.detail-head { display: grid; gap: 4px; margin-bottom: 10px; }
.job-id { color: var(--muted); }
.job-actions { display: flex; gap: 8px; flex-wrap: wrap; align-items: center; margin: 8px 0 12px; }
.reschedule { display: inline-flex; gap: 6px; align-items: center; }
dl { display: grid; grid-template-columns: max-content 1fr; gap: 4px 14px; margin: 0; }
dt { color: var(--muted); }
dd { margin: 0; word-break: break-all; }

#toast { cursor: pointer; position: fixed; right: 20px; bottom: 20px; max-width: 480px; padding: 10px 14px; border-radius: 8px; color: #fff; background: var(--green);
  box-shadow: 0 4px 14px rgba(0,0,0,.18); z-index: 5; }
#toast.error { background: var(--red); }
`
