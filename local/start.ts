/**
 * `npm start`: the local stack. Until the full stack lands this brings up only what exists:
 * DynamoDB (dynalite) with the broker's table on loopback, and says so plainly.
 */
import type { AddressInfo } from 'node:net';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import dynalite from 'dynalite';
import { createBrokerTable } from './create-table';

const server = dynalite({ createTableMs: 0 });
await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
const { port } = server.address() as AddressInfo;
const client = new DynamoDBClient({
  endpoint: `http://127.0.0.1:${port}`,
  region: 'local',
  credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
});
await createBrokerTable(client, 'token-broker');
process.stdout.write(
  `DynamoDB (dynalite) with table token-broker on http://127.0.0.1:${port}\n` +
    'The token API, the emulator and the approval loop are not wired into npm start yet.\n' +
    'Press Ctrl-C to stop.\n',
);
process.on('SIGINT', () => {
  client.destroy();
  server.close(() => process.exit(0));
});
