import { Hono } from 'hono'
import type { ClusterContext } from '../core/cluster.js'
import { NotFoundError, ValidationError } from '../core/errors.js'
import { errorResponse } from './http-errors.js'
import { jobView } from './views.js'

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i

/** The management API (read side grows with the management issue). */
export function createApiApp(ctx: ClusterContext): Hono {
  const app = new Hono()

  app.get('/v1/jobs/:id', async (c) => {
    const id = c.req.param('id')
    if (!UUID.test(id)) throw ValidationError.single('id', 'must be a job id (UUID)')
    const job = await ctx.master.getJob(ctx.clusterId, id)
    if (!job) throw new NotFoundError('job', id)
    const attempts = await ctx.master.listAttempts(ctx.clusterId, id)
    return c.json(jobView(job, attempts))
  })

  app.onError((error, c) => errorResponse(error, c, ctx.logger))
  return app
}
