import { App, type AppProps, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { inContextTerms, readBrokerContext } from './broker-context';
import { TokenBrokerConfigError } from './resolve-config';
import { TokenBrokerStack } from './token-broker-stack';

/** The default stack id (and CloudFormation stack name); context `stackName` overrides it. */
export const DEFAULT_STACK_NAME = 'SalesforceTokenBroker';

/**
 * The CDK app: one broker stack configured from context, with cdk-nag's AWS Solutions checks run
 * on every synth (an unacknowledged finding fails it). Tests build the app through this too.
 * A bad value throws a {@link TokenBrokerConfigError} that names the context key.
 */
export function createBrokerApp(props: AppProps = {}): { app: App; stack: TokenBrokerStack } {
  const app = new App(props);
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
  const stackName = app.node.tryGetContext('stackName') ?? DEFAULT_STACK_NAME;
  // Environment-agnostic: synth needs no credentials, and `cdk deploy` targets the caller's
  // account and region.
  const broker = readBrokerContext(app.node);
  try {
    return { app, stack: new TokenBrokerStack(app, stackName, { broker }) };
  } catch (error) {
    throw error instanceof TokenBrokerConfigError ? inContextTerms(error) : error;
  }
}
