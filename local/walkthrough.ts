/** What `npm start` prints once the stack is up: where everything is, and the walkthrough. */
import { isAbsolute, relative } from 'node:path';
import { callerSummary, signedCurl } from './caller-commands';
import { DEMO_SECRET_ID, type LocalStack } from './stack';

export function renderWalkthrough(stack: LocalStack, cwd: string = process.cwd()): string {
  const base = stack.publicBaseUrl;
  const show = (path: string) => {
    const inside = relative(cwd, path);
    return inside && !inside.startsWith('..') && !isAbsolute(inside) ? inside : path;
  };
  const tokenCurl = signedCurl(stack, 'POST', `/orgs/${stack.demoOrgId}/token`);
  const cli =
    stack.dataDir === `${cwd}/.local`
      ? '--local'
      : `--local --stack-file ${show(`${stack.dataDir}/stack.json`)}`;
  return `salesforce-token-broker is running on loopback (Ctrl-C stops everything)

  API gateway          ${base}  (PUBLIC_BASE_URL; IAM routes check SigV4 as API Gateway does)
  ${callerSummary(stack)}
  Salesforce emulator  ${stack.emulatorUrl}  (demo org: ${stack.demo.integrationUsername} has NOT approved the app)
  DynamoDB (dynalite)  ${stack.dynamodbEndpoint}  table ${stack.tableName}, ${stack.persisted ? `persisted in ${show(`${stack.dataDir}/dynamodb`)}` : 'in memory'}
  Secrets Manager      ${stack.secretsManagerEndpoint}  secret ${DEMO_SECRET_ID} (${stack.demo.keyGenerated ? 'new demo key' : 'demo key'} in ${show(`${stack.dataDir}/keys`)})
  Events               this console + ${show(stack.eventsFile)}
  CLI                  npm run cli -- doctor --org ${stack.demoOrgId} ${cli}

Walkthrough
  1. Request a token. It fails with consumer_not_approved, and an incident.opened event appears below:
       ${tokenCurl}
  2. Open the approval link in a browser (remediation.approvalLink in the answer to step 1, or in the
     incident.opened event: signed, valid for 7 days), sign in as ${stack.demo.integrationUsername} and click Allow.
     A fresh link at any time: npm run cli -- approval-url --org ${stack.demoOrgId} ${cli}
     The callback page shows who approved, with which scopes, and that the JWT exchange now works;
     approval.completed and incident.resolved events appear below.
  3. Request a token again. It succeeds; run it once more and it is served from the cache:
       ${tokenCurl}
     The org's status (last exchange, open incidents, approval link):
       ${signedCurl(stack, 'GET', `/orgs/${stack.demoOrgId}/status`)}
     From code, the client library does the signing, caching and retries (docs/client.md);
     the CLI's verify goes through it as a caller would: npm run cli -- verify --org ${stack.demoOrgId} ${cli}
`;
}
