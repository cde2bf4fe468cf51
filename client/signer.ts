/**
 * SigV4 for API Gateway (`execute-api`) with the AWS SDK's own signer, so callers never hand-write
 * canonical requests. Kept apart from the client so the local gateway can recompute signatures
 * with exactly the same code.
 */
import { Sha256 } from '@smithy/core/checksum';
import { HttpRequest } from '@smithy/core/protocols';
import { SignatureV4 } from '@smithy/signature-v4';
import type { AwsCredentialIdentity, AwsCredentialIdentityProvider } from '@smithy/types';

/** The signing name of API Gateway's invoke API. */
export const EXECUTE_API_SERVICE = 'execute-api';

export type CredentialsInput = AwsCredentialIdentity | AwsCredentialIdentityProvider;

export interface SignInput {
  readonly method: string;
  readonly url: URL;
  /** Header names in any case; `host` is added from the URL. */
  readonly headers?: Readonly<Record<string, string>>;
  readonly body?: string | Uint8Array | undefined;
  /** @default now */
  readonly signingDate?: Date;
}

/** Signs one request; resolves to the headers to send (`authorization`, `x-amz-date`, ...). */
export type RequestSigner = (input: SignInput) => Promise<Record<string, string>>;

function queryOf(url: URL): Record<string, string | string[]> {
  const query: Record<string, string | string[]> = {};
  for (const [name, value] of url.searchParams) {
    const existing = query[name];
    query[name] = existing === undefined ? value : [existing].flat().concat(value);
  }
  return query;
}

/** The SDK's request shape for `url`, as the signer canonicalises it. */
export function toSignableRequest(input: Omit<SignInput, 'signingDate'>): HttpRequest {
  const { url } = input;
  return new HttpRequest({
    method: input.method.toUpperCase(),
    protocol: url.protocol,
    hostname: url.hostname,
    ...(url.port ? { port: Number(url.port) } : {}),
    // The encoded path: the signer encodes it once more, as SigV4 wants for every service but S3.
    path: url.pathname,
    query: queryOf(url),
    headers: { host: url.host, ...input.headers },
    ...(input.body === undefined ? {} : { body: input.body }),
  });
}

/**
 * The SDK's `SignatureV4` for `execute-api` in `region`.
 * @param applyChecksum sign an `x-amz-content-sha256` header too (the SDK's default). A verifier
 * passes false: it must sign exactly the headers the caller signed, no more. @default true
 */
export function createExecuteApiSignatureV4(
  region: string,
  credentials: CredentialsInput,
  applyChecksum = true,
): SignatureV4 {
  return new SignatureV4({
    service: EXECUTE_API_SERVICE,
    region,
    credentials,
    sha256: Sha256,
    applyChecksum,
  });
}

/** A signer for `execute-api` in `region` with `credentials` (an identity or a provider). */
export function createRequestSigner(region: string, credentials: CredentialsInput): RequestSigner {
  const signer = createExecuteApiSignatureV4(region, credentials);
  return async (input) => {
    const signed = await signer.sign(
      toSignableRequest(input),
      input.signingDate ? { signingDate: input.signingDate } : {},
    );
    const headers: Record<string, string> = {};
    for (const [name, value] of Object.entries(signed.headers)) {
      // fetch derives Host from the URL, byte for byte what was signed.
      if (name.toLowerCase() !== 'host') headers[name] = value;
    }
    return headers;
  };
}
