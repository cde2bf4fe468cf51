import { App, type AppProps, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { readBrokerContext } from './broker-context';
import { TokenBrokerStack } from './token-broker-stack';

/** The default stack id (and CloudFormation stack name); context `stackName` overrides it. */
export const DEFAULT_STACK_NAME = 'SalesforceTokenBroker';

/**
 * The CDK app: one broker stack configured from context, with cdk-nag's AWS Solutions checks run
 * on every synth (an unacknowledged finding fails it). Tests build the app through this too.
 */
export function createBrokerApp(props: AppProps = {}): { app: App; stack: TokenBrokerStack } {
  const app = new App(props);
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
  const stackName = app.node.tryGetContext('stackName') ?? DEFAULT_STACK_NAME;
  // Environment-agnostic: synth needs no credentials, and `cdk deploy` targets the caller's
  // account and region.
  const stack = new TokenBrokerStack(app, stackName, { broker: readBrokerContext(app.node) });
  return { app, stack };
}
