import { ConfigError } from '../errors.js'
import type { AgentStore } from './agent.js'
import type { MasterStore } from './master.js'

export interface StoreOptions {
  tablePrefix: string
  /** Pool size per store. */
  poolSize?: number
}

interface Provider {
  master?: (url: string, options: StoreOptions) => MasterStore
  agent?: (name: string, url: string, options: StoreOptions) => AgentStore
}

/**
 * Providers by URL scheme, loaded on first use so a producer bundle only pulls in the driver it
 * talks to.
 */
const providers: Record<string, () => Promise<Provider>> = {
  postgres: async () => {
    const [{ PostgresMasterStore }, { PostgresAgentStore }] = await Promise.all([
      import('../providers/postgres/master/index.js'),
      import('../providers/postgres/agent/index.js'),
    ])
    return {
      master: (url, o) => new PostgresMasterStore(url, o.tablePrefix, { max: o.poolSize }),
      agent: (name, url, o) => new PostgresAgentStore(name, url, o.tablePrefix, { max: o.poolSize }),
    }
  },
  mysql: async () => {
    const [{ MySqlMasterStore }, { MySqlAgentStore }] = await Promise.all([
      import('../providers/mysql/master/index.js'),
      import('../providers/mysql/agent/index.js'),
    ])
    return {
      master: (url, o) => new MySqlMasterStore(url, o.tablePrefix, { max: o.poolSize }),
      agent: (name, url, o) => new MySqlAgentStore(name, url, o.tablePrefix, { max: o.poolSize }),
    }
  },
  mssql: async () => {
    const [{ MssqlMasterStore }, { MssqlAgentStore }] = await Promise.all([
      import('../providers/mssql/master/index.js'),
      import('../providers/mssql/agent/index.js'),
    ])
    return {
      master: (url, o) => new MssqlMasterStore(url, o.tablePrefix, { poolSize: o.poolSize }),
      agent: (name, url, o) => new MssqlAgentStore(name, url, o.tablePrefix, { poolSize: o.poolSize }),
    }
  },
  // NATS JetStream carries in-flight work only: it is never a master.
  nats: async () => {
    const { NatsAgentStore } = await import('../providers/nats/index.js')
    return { agent: (name, url, o) => new NatsAgentStore(name, url, o.tablePrefix) }
  },
}
providers.postgresql = providers.postgres!
providers.sqlserver = providers.mssql!

/** Register a provider for a scheme (used by provider modules and tests). */
export function registerProvider(scheme: string, load: () => Promise<Provider>): void {
  providers[scheme] = load
}

function schemeOf(url: string): string {
  return new URL(url).protocol.replace(/:$/, '')
}

async function load(url: string, field: string): Promise<Provider> {
  const scheme = schemeOf(url)
  const loader = providers[scheme]
  if (!loader) throw new ConfigError([{ path: field, message: `no provider for "${scheme}://" in this build (available: ${Object.keys(providers).join(', ')})` }])
  return loader()
}

export async function openMaster(url: string, options: StoreOptions): Promise<MasterStore> {
  const provider = await load(url, 'masterUrl')
  if (!provider.master) throw new ConfigError([{ path: 'masterUrl', message: `"${schemeOf(url)}" cannot be a master store` }])
  return provider.master(url, options)
}

export async function openAgent(name: string, url: string, options: StoreOptions): Promise<AgentStore> {
  const provider = await load(url, `agents.${name}`)
  if (!provider.agent) throw new ConfigError([{ path: `agents.${name}`, message: `"${schemeOf(url)}" cannot be an agent transport` }])
  return provider.agent(name, url, options)
}
