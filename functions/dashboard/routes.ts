import type { Env, Hono } from 'hono'
import { DASHBOARD_HTML } from './page.js'
import { DASHBOARD_SCRIPT } from './script.js'
import { DASHBOARD_STYLES } from './styles.js'

/**
 * Strict policy: the page runs only its own script and style, talks only to its own origin, and
 * cannot be framed. The page holds no data: it fetches everything with the user's credential.
 */
const SECURITY_HEADERS = {
  'content-security-policy':
    "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'cache-control': 'no-cache',
}

/**
 * The dashboard: one page and its two assets, public (no data in them), served with no build
 * step. Asset and API paths in the page are relative, so it also works under a base path.
 */
export function mountDashboard<E extends Env>(app: Hono<E>): void {
  app.get('/dashboard', (c) => c.html(DASHBOARD_HTML, 200, SECURITY_HEADERS))
  app.get('/dashboard/app.js', (c) => c.body(DASHBOARD_SCRIPT, 200, { ...SECURITY_HEADERS, 'content-type': 'text/javascript; charset=utf-8' }))
  app.get('/dashboard/style.css', (c) => c.body(DASHBOARD_STYLES, 200, { ...SECURITY_HEADERS, 'content-type': 'text/css; charset=utf-8' }))
}
