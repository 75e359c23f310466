/**
 * The stage's secrets, set once per stage (`npx sst secret set JmMasterUrl 'postgres://…' --stage production`).
 * Their values live only in SST's encrypted state and in what is derived from them here.
 */
export function createSecrets() {
  return {
    /** JM_MASTER_URL: the master database. */
    masterUrl: new sst.Secret('JmMasterUrl'),
    /** JM_AGENTS: the agent connections, `name=url,name=url`; every fleet's `agent` must be listed. */
    agents: new sst.Secret('JmAgents'),
    /** JM_API_KEYS: the producer's keys, which clients send in `x-api-key`; comma-separated. */
    apiKeys: new sst.Secret('JmApiKeys'),
    /** JM_MANAGEMENT_API_KEYS: the management API's keys, `name:key[:role]`, comma-separated. */
    managementApiKeys: new sst.Secret('JmManagementApiKeys'),
  }
}

export type Secrets = ReturnType<typeof createSecrets>

/**
 * The connection secrets as SSM SecureString parameters for the worker containers: ECS reads them
 * when a task starts, so the task definition (visible to anyone who can describe it) holds only
 * the parameter ARNs, not the URLs and their passwords.
 */
export function containerSecrets(secrets: Secrets): Record<string, $util.Output<string>> {
  const parameter = (resourceName: string, variable: string, value: $util.Output<string>) =>
    new aws.ssm.Parameter(resourceName, { name: `/${$app.name}/${$app.stage}/${variable}`, type: 'SecureString', value }).arn
  return {
    JM_MASTER_URL: parameter('JmMasterUrlParameter', 'JM_MASTER_URL', secrets.masterUrl.value),
    JM_AGENTS: parameter('JmAgentsParameter', 'JM_AGENTS', secrets.agents.value),
  }
}
