/**
 * The credentials of a function in Lambda: always the environment (`AWS_ACCESS_KEY_ID`,
 * `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN`), which the runtime sets from the execution role.
 *
 * The Lambda bundles alias `@aws-sdk/credential-provider-node` to this module
 * (lib/broker-function.ts `esbuildArgs`, bench/bundling.ts `CDK_BUNDLING`): the SDK's default
 * chain would otherwise bundle its SSO, INI, process, IMDS and container providers and the STS
 * and SSO clients behind them (about 100 KB minified), none of which can ever answer in Lambda
 * before the environment does. Same export name and shape, so the Secrets Manager client's
 * `credentialDefaultProvider` import resolves here unchanged. Outside the bundles (CLI, local
 * stack, tests) the real chain is used; the composition root (function-runtime.ts) signs the
 * lean clients' requests with this provider too.
 */
import type { AwsCredentialIdentityProvider } from '@smithy/types';

type FromEnvInit = Parameters<typeof import('@aws-sdk/credential-provider-env').fromEnv>[0];

/**
 * The default chain as Lambda needs it: the SDK's environment provider (`fromEnv`), loaded on the
 * first call so that importing this module runs no SDK code at cold start.
 */
export function defaultProvider(init: FromEnvInit = {}): AwsCredentialIdentityProvider {
  let provider: Promise<AwsCredentialIdentityProvider> | undefined;
  return async (props) => {
    provider ??= import('@aws-sdk/credential-provider-env').then(({ fromEnv }) => fromEnv(init));
    return (await provider)(props);
  };
}
