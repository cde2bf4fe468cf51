import { createPublicKey, X509Certificate } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { buildRestEvent } from '../../local/rest-event';
import { startDynalite } from './dynalite';
import { signingMaterial } from './keys';
import { findSecrets } from './logs';

describe('test support', () => {
  it('generates a key whose certificate carries the matching public key', async () => {
    const material = await signingMaterial('support');
    const cert = new X509Certificate(material.certificatePem);
    expect(cert.publicKey.export({ type: 'spki', format: 'pem' })).toBe(
      createPublicKey(material.privateKeyPem).export({ type: 'spki', format: 'pem' }),
    );
    expect(cert.fingerprint256.replaceAll(':', '').toLowerCase()).toBe(material.fingerprintSha256);
    expect(findSecrets(material.secretString)).toHaveLength(1);
  });

  it('creates the broker table in dynalite', async () => {
    const dynamo = await startDynalite();
    try {
      expect(await dynamo.createTable('broker-t1')).toBe('broker-t1');
    } finally {
      await dynamo.close();
    }
  });

  it('builds REST proxy events with the IAM caller where API Gateway puts it', () => {
    const event = buildRestEvent({
      method: 'POST',
      path: '/orgs/acme/token',
      resource: '/orgs/{orgId}/token',
      pathParameters: { orgId: 'acme' },
      query: { a: ['1', '2'] },
      callerArn: 'arn:aws:sts::123456789012:assumed-role/Fulfilment/session-1',
    });
    expect(event.requestContext.identity.userArn).toContain('assumed-role/Fulfilment');
    expect(event.requestContext.identity.accountId).toBe('123456789012');
    expect(event.queryStringParameters).toEqual({ a: '2' });
    expect(event.multiValueQueryStringParameters).toEqual({ a: ['1', '2'] });
    expect(event.requestContext.path).toBe('/prod/orgs/acme/token');
  });
});
