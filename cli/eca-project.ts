/**
 * The Salesforce metadata project (source format) for an org's External Client App, as
 * `token-broker apps scaffold` writes it: the app, its OAuth settings (scopes), its global OAuth
 * settings (the broker's callback URL, the JWT certificate, PKCE), its OAuth policies
 * (admin-approved pre-authorization through a permission set, optionally the client credentials
 * flow with the integration user as run-as user) and that permission set, plus the `sf` commands
 * that deploy it and assign the permission set. Pure: the caller reads the certificate and writes
 * the files. Element names are the Metadata API's (docs/deploy.md#the-generated-project).
 */
import type { OrgRecord } from '../lambda/core/types';

/** @default '62.0': every element written here exists in this version (the newest, clientCredentialsFlowUser, since 60.0). */
export const DEFAULT_API_VERSION = '62.0';

export interface EcaProjectInput {
  readonly org: OrgRecord;
  /** The broker's redirect URI (`{PUBLIC_BASE_URL}/oauth/callback`), byte for byte. */
  readonly callbackUrl: string;
  /** The signing key's X.509 PEM; without it the JWT Bearer flow stays off. */
  readonly certificatePem: string | undefined;
  /** Turn on the client credentials flow with the org's username as run-as user. */
  readonly clientCredentials: boolean;
  readonly contactEmail: string;
  /** The `sf` CLI alias (or username) of an admin login to the org. */
  readonly sfTargetOrg: string;
  /** @default DEFAULT_API_VERSION */
  readonly apiVersion?: string;
}

export interface EcaProject {
  /** The app's API name (also its label's base). */
  readonly appName: string;
  readonly permissionSetName: string;
  /** Relative path to content. */
  readonly files: Readonly<Record<string, string>>;
  /** The `sf` commands, in order: deploy, then assign the permission set to the integration user. */
  readonly commands: readonly string[];
}

const SOURCE_DIR = 'force-app/main/default';
const NAMESPACE = 'http://soap.sforce.com/2006/04/metadata';

const XML_ENTITIES: Readonly<Record<string, string>> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&apos;',
};

function escapeXml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => XML_ENTITIES[c] ?? c);
}

/** One metadata file: the root element with one child element per entry, in the given order. */
function metadataXml(root: string, fields: readonly (readonly [string, string | boolean])[]) {
  const lines = fields.map(([name, value]) => `    <${name}>${escapeXml(String(value))}</${name}>`);
  return `<?xml version="1.0" encoding="UTF-8"?>\n<${root} xmlns="${NAMESPACE}">\n${lines.join('\n')}\n</${root}>\n`;
}

/** A Salesforce API name from an org id: letters, digits and single underscores, starting with a letter. */
export function apiNameOf(orgId: string): string {
  return `Token_Broker_${orgId.replace(/-+/g, '_')}`.replace(/_+$/, '');
}

/** Shell-quotes an argument when it needs it (POSIX single quotes). */
function shellArg(value: string): string {
  return /^[\w@%+=:,./-]+$/.test(value) ? value : `'${value.replace(/'/g, `'\\''`)}'`;
}

export function buildEcaProject(input: EcaProjectInput): EcaProject {
  const { org } = input;
  const appName = apiNameOf(org.orgId);
  const permissionSetName = `${appName}_Users`;
  const label = `Token Broker ${org.orgId}`;
  const apiVersion = input.apiVersion ?? DEFAULT_API_VERSION;
  const jwt = input.certificatePem !== undefined;
  const files: Record<string, string> = {
    'sfdx-project.json': `${JSON.stringify(
      {
        packageDirectories: [{ path: 'force-app', default: true }],
        name: appName,
        sourceApiVersion: apiVersion,
      },
      null,
      2,
    )}\n`,
    [`${SOURCE_DIR}/externalClientApps/${appName}.eca-meta.xml`]: metadataXml(
      'ExternalClientApplication',
      [
        ['contactEmail', input.contactEmail],
        ['description', `salesforce-token-broker access for org ${org.orgId}`],
        ['distributionState', 'Local'],
        ['isProtected', false],
        ['label', label],
      ],
    ),
    [`${SOURCE_DIR}/extlClntAppOauthSettings/${appName}_oauth.ecaOauth-meta.xml`]: metadataXml(
      'ExtlClntAppOauthSettings',
      [
        // Api for the broker's callers; RefreshToken so the approval loop still works for
        // users outside the permission set.
        ['commaSeparatedOauthScopes', 'Api,RefreshToken'],
        ['externalClientApplication', appName],
        ['label', `${label} OAuth settings`],
      ],
    ),
    [`${SOURCE_DIR}/extlClntAppGlobalOauthSets/${appName}_glbloauth.ecaGlblOauth-meta.xml`]:
      metadataXml('ExtlClntAppGlobalOauthSettings', [
        ['callbackUrl', input.callbackUrl],
        ...(jwt ? [['certificate', (input.certificatePem ?? '').trim()] as const] : []),
        ['externalClientApplication', appName],
        ['isClientCredentialsFlowEnabled', input.clientCredentials],
        // The broker's approval loop sends PKCE and no secret unless consumerSecretId is set.
        ['isConsumerSecretOptional', true],
        ['isPkceRequired', true],
        ['label', `${label} global OAuth settings`],
      ]),
    [`${SOURCE_DIR}/extlClntAppOauthPolicies/${appName}_oauthPlcy.ecaOauthPlcy-meta.xml`]:
      metadataXml('ExtlClntAppOauthConfigurablePolicies', [
        ...(input.clientCredentials ? [['clientCredentialsFlowUser', org.username] as const] : []),
        ['commaSeparatedPermissionSet', permissionSetName],
        ['externalClientApplication', appName],
        ['ipRelaxationPolicyType', 'Enforce'],
        ['isClientCredentialsFlowEnabled', input.clientCredentials],
        ['label', `${label} OAuth policies`],
        ['permittedUsersPolicyType', 'AdminApprovedPreAuthorized'],
      ]),
    [`${SOURCE_DIR}/permissionsets/${permissionSetName}.permissionset-meta.xml`]: metadataXml(
      'PermissionSet',
      [
        ['description', `Pre-authorizes its users for the ${label} External Client App`],
        ['hasActivationRequired', false],
        ['label', `${label} users`],
      ],
    ),
  };
  const target = shellArg(input.sfTargetOrg);
  return {
    appName,
    permissionSetName,
    files,
    commands: [
      `sf project deploy start --source-dir force-app --target-org ${target}`,
      `sf org assign permset --name ${permissionSetName} --on-behalf-of ${shellArg(org.username)} --target-org ${target}`,
    ],
  };
}
