import { describe, expect, it } from 'vitest';
import type { KeyRotation } from '../../lambda/core/key-rotation';
import type { KeyRotationStore, TokenInvalidationStore } from '../../lambda/core/ports';
import type { OrgRecord } from '../../lambda/core/types';
import { shareOrgItemReads } from '../../lambda/services/org-item-reads';

function countingRegistry(rotation: KeyRotation | undefined) {
  const reads: string[] = [];
  const registry = {
    async getOrgTokenState(orgId: string) {
      reads.push(`state:${orgId}`);
      return { org: { orgId } as OrgRecord, tokenInvalidatedAt: undefined, keyRotation: rotation };
    },
    async recordTokenInvalidation() {},
    async getKeyRotation(orgId: string, options?: { fresh?: boolean }) {
      reads.push(`rotation:${orgId}${options?.fresh ? ':fresh' : ''}`);
      return rotation;
    },
    async promoteStagedKey(
      _orgId: string,
      _promotion: { staged: string; previous: string; at: string },
    ) {
      // Calls a sibling through `this`, as the DynamoDB registry does.
      return (await this.getKeyRotation('acme', { fresh: true })) !== undefined;
    },
    async stageKey() {},
    async clearKeyRotation() {},
  } satisfies TokenInvalidationStore & KeyRotationStore;
  return { registry, reads };
}

describe('shareOrgItemReads', () => {
  it("answers a routine rotation read from the org reload's item, and goes to the table when fresh or stale", async () => {
    const rotation = {
      stagedSecretId: 'keys/acme-next',
      stagedAt: '2026-12-01T00:00:00.000Z',
    } as KeyRotation;
    const { registry, reads } = countingRegistry(rotation);
    let now = 0;
    const shared = shareOrgItemReads(registry, () => now, 30_000);
    await shared.getOrgTokenState('acme');
    expect(await shared.getKeyRotation('acme')).toEqual(rotation);
    expect(await shared.getKeyRotation('acme', { fresh: true })).toEqual(rotation);
    now = 30_000;
    await shared.getKeyRotation('acme');
    await shared.getKeyRotation('other');
    expect(await shared.promoteStagedKey('acme', { staged: 'x', previous: 'y', at: 'z' })).toBe(
      true,
    );
    expect(reads).toEqual([
      'state:acme',
      'rotation:acme:fresh',
      'rotation:acme',
      'rotation:other',
      'rotation:acme:fresh',
    ]);
  });
});
