import type { RemovalPolicy } from 'aws-cdk-lib';
import { PolicyStatement } from 'aws-cdk-lib/aws-iam';
import { Key, KeySpec, KeyUsage } from 'aws-cdk-lib/aws-kms';
import type { Construct } from 'constructs';

/**
 * The KMS HMAC key approval links are signed with (docs/approval-loop.md#approval-links): the
 * functions ask KMS for MACs, so no signing secret exists outside KMS. KMS rotates no HMAC key
 * automatically; replacing the key (a new stack deployment of this construct) voids the links
 * already sent, which the next incident or reminder replaces.
 */
export function createApprovalLinkKey(scope: Construct, removalPolicy: RemovalPolicy): Key {
  return new Key(scope, 'ApprovalLinkKey', {
    description: 'salesforce-token-broker: signs and checks approval links (HMAC-SHA-256)',
    keySpec: KeySpec.HMAC_256,
    keyUsage: KeyUsage.GENERATE_VERIFY_MAC,
    removalPolicy,
  });
}

/**
 * The MAC actions on the approval-link key only. The token function signs (remediations,
 * status); the OAuth function also verifies (`GET /oauth/authorize`).
 */
export function approvalLinkStatement(
  key: Key,
  actions: readonly ('GenerateMac' | 'VerifyMac')[],
): PolicyStatement {
  return new PolicyStatement({
    sid: 'ApprovalLinkMacs',
    actions: actions.map((action) => `kms:${action}`),
    resources: [key.keyArn],
  });
}
