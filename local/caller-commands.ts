/**
 * The signed commands the walkthrough prints: the local gateway checks SigV4 as API Gateway does,
 * so an unsigned `curl` gets 403. curl (7.75+) signs with `--aws-sigv4`.
 */
import type { StackFile } from './stack-file';

/** `curl` for an IAM route, signed with the stack's caller key (unsigned without one). */
export function signedCurl(
  stack: StackFile,
  method: 'GET' | 'POST' | 'DELETE',
  path: string,
): string {
  const verb = method === 'GET' ? '' : ` -X ${method}`;
  const signing = stack.caller
    ? ` --aws-sigv4 "aws:amz:${stack.region}:execute-api" --user "${stack.caller.accessKeyId}:${stack.caller.secretAccessKey}"`
    : '';
  return `curl -s${verb}${signing} ${stack.publicBaseUrl}${path}`;
}

/** The walkthrough's line on who the caller is. */
export function callerSummary(stack: StackFile): string {
  return stack.caller
    ? `Caller key           ${stack.caller.accessKeyId} (secret in the curl lines below and the stack file) = ${stack.caller.arn}`
    : `Caller               ${stack.callerArn} (signatures not checked)`;
}
