/** Where the tests find the local services (PLATFORM.md: trust auth on 127.0.0.1). */
export const PG_ADMIN_URL = process.env.JM_TEST_PG_ADMIN_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres'
export const PG_MASTER_URL = process.env.JM_TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/jm_test'
export const PG_AGENT_URL = process.env.JM_TEST_PG_AGENT_URL ?? 'postgres://postgres@127.0.0.1:5432/jm_test_agent'
/** More agent databases, for clusters with several PostgreSQL agent connections (one store each). */
export const PG_AGENT2_URL = process.env.JM_TEST_PG_AGENT2_URL ?? 'postgres://postgres@127.0.0.1:5432/jm_test_agent2'
export const PG_AGENT3_URL = process.env.JM_TEST_PG_AGENT3_URL ?? 'postgres://postgres@127.0.0.1:5432/jm_test_agent3'
export const TEST_DATABASES = ['jm_test', 'jm_test_agent', 'jm_test_agent2', 'jm_test_agent3']
