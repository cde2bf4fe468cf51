import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isCategory } from '../../lambda/core/categories';
import { classifyTokenAnswer } from '../../lambda/core/classify';
import { isBrokerError } from '../../lambda/core/errors';
import { validateOrgRecord } from '../../lambda/core/org-record';
import { parseTokenRequestBody } from '../../lambda/handlers/token-handler';

describe('properties', () => {
  it('classifies any token-endpoint answer into a category, never echoing a success body', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 100, max: 599 }),
        fc.constantFrom('application/json', 'text/html', 'text/plain', ''),
        fc.oneof(
          fc.string(),
          fc.json(),
          fc.object().map((o) => JSON.stringify(o)),
        ),
        (status, contentType, body) => {
          const result = classifyTokenAnswer({ kind: 'response', status, contentType, body });
          if (result.ok) {
            expect(status).toBeGreaterThanOrEqual(200);
            return;
          }
          expect(isCategory(result.category)).toBe(true);
          expect(result.salesforce.status).toBe(status);
          expect((result.salesforce.error_description ?? '').length).toBeLessThanOrEqual(320);
          if (status >= 200 && status < 300 && body.trim().length > 8 && !body.includes('<title')) {
            expect(JSON.stringify(result)).not.toContain(body);
          }
        },
      ),
      { numRuns: 500 },
    );
  });

  it('parses any request body into forceRefresh or an invalid_request, never anything else', () => {
    fc.assert(
      fc.property(
        fc.oneof(fc.string(), fc.json(), fc.constant(null)),
        fc.boolean(),
        (body, base64) => {
          const event = {
            body: base64 && body !== null ? Buffer.from(body).toString('base64') : body,
            isBase64Encoded: base64 && body !== null,
          };
          try {
            expect(typeof parseTokenRequestBody(event).forceRefresh).toBe('boolean');
          } catch (error) {
            expect(isBrokerError(error) && error.category).toBe('invalid_request');
          }
        },
      ),
      { numRuns: 500 },
    );
  });

  it('validates any org input into a record or an invalid_request', () => {
    fc.assert(
      fc.property(fc.anything(), (input) => {
        try {
          validateOrgRecord(input);
        } catch (error) {
          expect(isBrokerError(error) && error.category).toBe('invalid_request');
        }
      }),
      { numRuns: 300 },
    );
  });
});
