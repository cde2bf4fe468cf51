/**
 * `npm run emulator`: the emulator alone on loopback with a demo org, for demos and manual
 * testing. Options: `--port N` (or EMULATOR_PORT, default 4010), `--callback URL` (or
 * EMULATOR_CALLBACK_URL), `--my-domain HOST` (or EMULATOR_MY_DOMAIN), `--key-dir DIR`
 * (or EMULATOR_KEY_DIR, default .local/emulator).
 */
import { parseArgs } from 'node:util';
import { seedDemoOrg } from './demo';
import { writeDemoKeys } from './demo-keys';
import { startEmulator } from './server';

const { values } = parseArgs({
  options: {
    port: { type: 'string' },
    callback: { type: 'string' },
    'my-domain': { type: 'string' },
    'key-dir': { type: 'string' },
  },
});

const portText = values.port ?? process.env.EMULATOR_PORT ?? '4010';
const port = Number(portText);
if (!/^\d+$/.test(portText) || port > 65_535) {
  process.stderr.write(`Invalid port "${portText}": use --port N or EMULATOR_PORT=N (0-65535).\n`);
  process.exit(2);
}
const callbackUrl =
  values.callback ?? process.env.EMULATOR_CALLBACK_URL ?? 'http://127.0.0.1:3000/oauth/callback';
const myDomainHost = values['my-domain'] ?? process.env.EMULATOR_MY_DOMAIN;
const keyDir = values['key-dir'] ?? process.env.EMULATOR_KEY_DIR ?? '.local/emulator';

const emulator = await startEmulator({ port }).catch((error: NodeJS.ErrnoException) => {
  const reason =
    error.code === 'EADDRINUSE'
      ? `port ${port} on 127.0.0.1 is already in use; pick another with --port N or EMULATOR_PORT=N`
      : error.message;
  process.stderr.write(`Salesforce emulator could not start: ${reason}\n`);
  process.exit(1);
});
const keys = await writeDemoKeys(keyDir);
const demo = await seedDemoOrg(emulator.control, {
  certificatePem: keys.certificatePem,
  callbackUrl,
  ...(myDomainHost ? { myDomainHost } : {}),
});

const approveUrl = `${demo.loginUrl}/services/oauth2/authorize?${new URLSearchParams({
  response_type: 'code',
  client_id: demo.app.consumerKey,
  redirect_uri: callbackUrl,
  scope: 'api refresh_token',
  login_hint: demo.integrationUsername,
})}`;

process.stdout.write(`Salesforce emulator on ${emulator.url}
  login URLs (the broker's loginUrl):
    ${demo.org.loginUrls.shared}${demo.org.loginUrls.myDomain ? `\n    ${demo.org.loginUrls.myDomain}` : ''}
  audience:          ${demo.audience}
  consumer key:      ${demo.app.consumerKey}
  callback URL:      ${callbackUrl}
  integration user:  ${demo.integrationUsername} (has NOT approved the app yet)
  admin user:        ${demo.adminUsername}
  demo private key:  ${keys.privateKeyPath}
  demo certificate:  ${keys.certificatePath}
  approve by hand:   ${approveUrl}
  control API:       ${emulator.url}/__control/state (see docs/emulator.md)
Press Ctrl-C to stop.
`);

let stopping = false;
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
  process.on(signal, () => {
    if (stopping) return;
    stopping = true;
    emulator.close().then(
      () => process.exit(0),
      (error: Error) => {
        process.stderr.write(`Salesforce emulator did not stop cleanly: ${error.message}\n`);
        process.exit(1);
      },
    );
  });
}
