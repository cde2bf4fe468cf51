/**
 * The apps scaffold's project against the Metadata API reference: every file sits in the folder
 * with the suffix the reference gives its type, every element it writes is one the reference lists
 * for that type (test/fixtures/metadata-api-elements.json names the pages), enumerated values are
 * documented ones, and the policies pre-authorize through the permission set the project defines.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { buildEcaProject } from '../../cli/eca-project';
import type { OrgRecord } from '../../lambda/core/types';

interface Reference {
  readonly types: Record<string, { file: string; elements: string[] }>;
  readonly values: Record<string, string[]>;
}
const reference = JSON.parse(
  readFileSync(new URL('../fixtures/metadata-api-elements.json', import.meta.url), 'utf8'),
) as Reference;

const org: OrgRecord = {
  orgId: 'acme-prod',
  loginUrl: 'https://acme.my.salesforce.com',
  environment: 'production',
  audience: 'https://login.salesforce.com',
  consumerKey: '3MVG9pending',
  username: 'integration@acme.com',
  grant: 'jwt_bearer',
  signingKeySecretId: 'salesforce-token-broker/acme-prod',
  tokenTtlSeconds: 1800,
  callers: [],
};
const CERTIFICATE = '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----';

function project(clientCredentials: boolean) {
  return buildEcaProject({
    org,
    callbackUrl: 'https://broker.example.com/prod/oauth/callback',
    certificatePem: CERTIFICATE,
    clientCredentials,
    contactEmail: 'ops@acme.com',
    sfTargetOrg: 'acme admin',
  });
}

/** Root element and its children's names and values. */
function parse(xml: string) {
  const root = /<([A-Za-z]+) xmlns="http:\/\/soap\.sforce\.com\/2006\/04\/metadata">/.exec(
    xml,
  )?.[1];
  const children = [...xml.matchAll(/^ {4}<([A-Za-z]+)>([\s\S]*?)<\/\1>$/gm)].map(
    ([, name, value]) => [name as string, value as string] as const,
  );
  return { root, children };
}

describe('apps scaffold project', () => {
  it.each([false, true])('uses only Metadata API names (client credentials %s)', (cc) => {
    const { files } = project(cc);
    const metadata = Object.entries(files).filter(([path]) => path.endsWith('-meta.xml'));
    expect(metadata).toHaveLength(5);
    for (const [path, xml] of metadata) {
      const { root, children } = parse(xml);
      const type = reference.types[root ?? ''];
      expect(type, `${path}: root ${root}`).toBeDefined();
      const [folder, suffix] = type?.file.split('/*') ?? [];
      expect(path).toMatch(
        new RegExp(
          `^force-app/main/default/${folder}/[A-Za-z0-9_]+${suffix?.replaceAll('.', '\\.')}$`,
        ),
      );
      for (const [name, value] of children) {
        expect(type?.elements, `${path}: <${name}>`).toContain(name);
        const allowed = reference.values[name];
        if (allowed) expect(allowed, `${path}: <${name}>${value}`).toContain(value);
      }
    }
  });

  it('pre-authorizes through the permission set it defines, with JWT and the callback URL', () => {
    const { files, permissionSetName, appName, commands } = project(false);
    const all = Object.values(files).join('\n');
    expect(all).toContain(
      '<permittedUsersPolicyType>AdminApprovedPreAuthorized</permittedUsersPolicyType>',
    );
    expect(all).toContain(
      `<commaSeparatedPermissionSet>${permissionSetName}</commaSeparatedPermissionSet>`,
    );
    expect(
      files[`force-app/main/default/permissionsets/${permissionSetName}.permissionset-meta.xml`],
    ).toBeDefined();
    expect(all).toContain(`<certificate>${CERTIFICATE}</certificate>`);
    expect(all).toContain(
      '<callbackUrl>https://broker.example.com/prod/oauth/callback</callbackUrl>',
    );
    expect(all).toContain(`<externalClientApplication>${appName}</externalClientApplication>`);
    expect(all).not.toContain('clientCredentialsFlowUser');
    expect(all).not.toMatch(/consumerSecret|consumerKey/);
    expect(commands).toEqual([
      "sf project deploy start --source-dir force-app --target-org 'acme admin'",
      `sf org assign permset --name ${permissionSetName} --on-behalf-of integration@acme.com --target-org 'acme admin'`,
    ]);
  });

  it('runs the client credentials flow as the integration user when asked', () => {
    const all = Object.values(project(true).files).join('\n');
    expect(all).toContain(
      '<clientCredentialsFlowUser>integration@acme.com</clientCredentialsFlowUser>',
    );
    expect(all.match(/<isClientCredentialsFlowEnabled>true</g)).toHaveLength(2);
  });
});
