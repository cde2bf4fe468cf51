/**
 * Reads an External Client App from its Salesforce metadata (source format), the files a
 * `sf project deploy start` would send, into control-API app settings: the app
 * (`.eca-meta.xml`), its OAuth settings (`.ecaOauth-meta.xml`: scopes), its global OAuth
 * settings (`.ecaGlblOauth-meta.xml`: callback URL, certificate, flows) and its OAuth policies
 * (`.ecaOauthPlcy-meta.xml`: permitted users, permission sets, profiles, client credentials
 * run-as user, IP relaxation). Element names follow the Metadata API reference
 * (docs/emulator.md#loading-an-app-from-metadata). Like a deploy, it gives the app a generated
 * consumer key and secret, and the app is installed in the org it is deployed to.
 */
import { ControlError, type Input } from './control-input';

const SUFFIXES = {
  app: '.eca-meta.xml',
  settings: '.ecaOauth-meta.xml',
  global: '.ecaGlblOauth-meta.xml',
  policies: '.ecaOauthPlcy-meta.xml',
} as const;

/** `commaSeparatedOauthScopes` tokens to the scope names the token endpoint reports. */
const SCOPES: Readonly<Record<string, string>> = {
  Api: 'api',
  RefreshToken: 'refresh_token',
  OfflineAccess: 'offline_access',
  Web: 'web',
  OpenID: 'openid',
  Id: 'id',
  Full: 'full',
};

const ENTITIES: Readonly<Record<string, string>> = {
  amp: '&',
  lt: '<',
  gt: '>',
  quot: '"',
  apos: "'",
};

/** The text of the first `<name>` element: these files are flat, one value per element. */
function element(xml: string, name: string): string | undefined {
  const match = new RegExp(`<${name}>([\\s\\S]*?)</${name}>`).exec(xml);
  return match?.[1]?.replace(
    /&(amp|lt|gt|quot|apos);/g,
    (_, entity: string) => ENTITIES[entity] ?? '',
  );
}

function list(value: string | undefined): string[] {
  return (value ?? '')
    .split(',')
    .map((item) => item.trim())
    .filter(Boolean);
}

function fileWithSuffix(files: Record<string, string>, suffix: string, required: boolean) {
  const paths = Object.keys(files).filter((path) => path.endsWith(suffix));
  if (paths.length > 1) throw new ControlError(400, `more than one *${suffix} file`);
  const path = paths[0];
  if (path === undefined && required) throw new ControlError(400, `no *${suffix} file`);
  return path === undefined ? undefined : files[path];
}

/** Control-API settings for the app the files describe. */
export function readEcaMetadata(files: Record<string, string>): Input {
  const app = fileWithSuffix(files, SUFFIXES.app, true) ?? '';
  const settings = fileWithSuffix(files, SUFFIXES.settings, true) ?? '';
  const global = fileWithSuffix(files, SUFFIXES.global, true) ?? '';
  const policies = fileWithSuffix(files, SUFFIXES.policies, false) ?? '';
  if (!app.includes('<ExternalClientApplication'))
    throw new ControlError(400, `${SUFFIXES.app} must hold an ExternalClientApplication`);

  const scopes = list(element(settings, 'commaSeparatedOauthScopes')).map((token) => {
    const scope = SCOPES[token];
    if (!scope) throw new ControlError(400, `unknown scope ${token} in commaSeparatedOauthScopes`);
    return scope;
  });
  const certificate = element(global, 'certificate')?.trim();
  const callbackUrl = element(global, 'callbackUrl')?.trim();
  const permitted = element(policies, 'permittedUsersPolicyType') ?? 'AllSelfAuthorized';
  const relaxation = element(policies, 'ipRelaxationPolicyType') ?? 'Enforce';
  const runAs = element(policies, 'clientCredentialsFlowUser')?.trim();
  return {
    name: element(app, 'label') ?? 'External Client App',
    kind: 'external_client_app',
    installed: true,
    scopes,
    ...(certificate ? { certificates: [certificate] } : {}),
    ...(callbackUrl ? { callbackUrls: list(callbackUrl) } : {}),
    requireSecret: element(global, 'isConsumerSecretOptional') !== 'true',
    requirePkce: element(global, 'isPkceRequired') === 'true',
    permittedUsers:
      permitted === 'AdminApprovedPreAuthorized' ? 'admin_approved' : 'self_authorize',
    permissionSets: list(element(policies, 'commaSeparatedPermissionSet')),
    profiles: list(element(policies, 'commaSeparatedProfile')),
    ipRelaxation: relaxation.startsWith('Bypass') ? 'relax' : 'enforce',
    clientCredentialsEnabled:
      element(global, 'isClientCredentialsFlowEnabled') === 'true' &&
      element(policies, 'isClientCredentialsFlowEnabled') === 'true',
    ...(runAs ? { clientCredentialsUser: runAs } : {}),
  };
}
