import { Template } from 'aws-cdk-lib/assertions';
import { createBrokerApp } from '../../lib/broker-app';

/**
 * Builds the app exactly as bin/app.ts does (cdk-nag included), with the given context. Bundling
 * and CloudFormation's schema validation are skipped for speed; test/infra/cdk-synth.test.ts
 * covers both through the real CLI.
 */
export function synthBroker(context: Record<string, unknown> = {}) {
  const { app, stack } = createBrokerApp({
    context: { ...context, 'aws:cdk:bundling-stacks': [] },
    builtinCloudFormationValidation: false,
  });
  return { app, stack, template: Template.fromStack(stack) };
}

type Json = Record<string, unknown>;

/** The statements of each IAM role's inline policies, keyed by the role's logical id. */
export function roleStatements(template: Template): Record<string, Json[]> {
  const roles = template.findResources('AWS::IAM::Role');
  return Object.fromEntries(
    Object.entries(roles).map(([id, role]) => {
      const policies = (role.Properties.Policies ?? []) as {
        PolicyDocument: { Statement: Json[] };
      }[];
      return [id, policies.flatMap((p) => p.PolicyDocument.Statement)];
    }),
  );
}

export const asList = (value: unknown): unknown[] => (Array.isArray(value) ? value : [value]);
