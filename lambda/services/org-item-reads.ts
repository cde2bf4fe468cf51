/**
 * One read of the org item per login. The token service reloads the org record through
 * `getOrgTokenState`, and that read carries the key rotation state too; the JWT exchange's routine
 * rotation read takes it from there while it is younger than `ttlMs`, instead of reading the same
 * item again. A fresh read (after Salesforce refused a key) still goes to the table.
 */
import type { KeyRotation } from '../core/key-rotation';
import type { KeyRotationStore, TokenInvalidationStore } from '../core/ports';
import type { Clock } from '../core/types';

/**
 * `registry` with the rotation state of its last `getOrgTokenState` read per org reused.
 * @param ttlMs how long that state answers a routine read, ms @default 30000 (as the org record)
 */
export function shareOrgItemReads<R extends TokenInvalidationStore & KeyRotationStore>(
  registry: R,
  clock: Clock,
  ttlMs = 30_000,
): R {
  const seen = new Map<
    string,
    { readonly rotation: KeyRotation | undefined; readonly at: number }
  >();
  const shared: Pick<R, 'getOrgTokenState' | 'getKeyRotation'> = {
    async getOrgTokenState(orgId) {
      const state = await registry.getOrgTokenState(orgId);
      if (state) seen.set(orgId, { rotation: state.keyRotation, at: clock() });
      else seen.delete(orgId);
      return state;
    },
    async getKeyRotation(orgId, options) {
      const known = seen.get(orgId);
      if (!options?.fresh && known && clock() - known.at < ttlMs) return known.rotation;
      return registry.getKeyRotation(orgId, options);
    },
  };
  // The registry's other methods stay its own (they may call each other through `this`).
  return Object.assign(Object.create(registry) as R, shared);
}
