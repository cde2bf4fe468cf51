/**
 * The org's login, whichever grant its record names: the JWT Bearer exchange or the client
 * credentials exchange. The token service sees one {@link GrantExchange}, so the cache,
 * single-flight, incidents, events and status work the same for both grants.
 */
import { grantOf } from '../core/org-record';
import type { GrantExchange } from '../core/ports';
import type { OrgGrant } from '../core/types';

/** One exchange per grant; each is asked only for orgs of its grant. */
export function createGrantExchange(
  exchanges: Readonly<Record<OrgGrant, GrantExchange>>,
): GrantExchange {
  return {
    run(org, context) {
      return exchanges[grantOf(org)].run(org, context);
    },
  };
}
