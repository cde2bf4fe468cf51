/**
 * Checks real handler responses against docs/openapi.yaml with ajv (JSON Schema 2020-12, which
 * OpenAPI 3.1 uses): the status must be documented for the operation, the body must match its
 * schema and documented headers must be present.
 */
import { readFileSync } from 'node:fs';
import Ajv2020 from 'ajv/dist/2020';
import addFormats from 'ajv-formats';
import type { APIGatewayProxyResult } from 'aws-lambda';
import { parse } from 'yaml';

type Doc = Record<string, unknown>;

export const openapi = parse(
  readFileSync(new URL('../../docs/openapi.yaml', import.meta.url), 'utf8'),
) as Doc;

const ajv = new Ajv2020({ strict: false, allErrors: true });
addFormats(ajv);
ajv.addSchema({ ...openapi, $id: 'openapi' });

function pointer(path: readonly string[]): string {
  return path.map((part) => part.replaceAll('~', '~0').replaceAll('/', '~1')).join('/');
}

function resolve(node: unknown, path: string[]): { node: Doc; path: string[] } {
  const ref = (node as { $ref?: string }).$ref;
  if (!ref) return { node: node as Doc, path };
  const refPath = ref
    .replace(/^#\//, '')
    .split('/')
    .map((p) => p.replaceAll('~1', '/').replaceAll('~0', '~'));
  let target: unknown = openapi;
  for (const part of refPath) target = (target as Doc)[part];
  return resolve(target, refPath);
}

/** Problems with `response` as an answer to `method path` (the API resource template); none is valid. */
export function checkResponse(
  method: string,
  resource: string,
  response: APIGatewayProxyResult,
): string[] {
  const operationPath = ['paths', resource, method.toLowerCase()];
  const operation = (openapi.paths as Doc)[resource] as Doc | undefined;
  const responses = (operation?.[method.toLowerCase()] as Doc | undefined)?.responses as
    | Doc
    | undefined;
  if (!responses) return [`${method} ${resource} is not documented`];
  const documented = responses[String(response.statusCode)];
  if (!documented)
    return [`status ${response.statusCode} is not documented for ${method} ${resource}`];
  const { node, path } = resolve(documented, [
    ...operationPath,
    'responses',
    String(response.statusCode),
  ]);
  const problems: string[] = [];
  const headers = Object.fromEntries(
    Object.entries(response.headers ?? {}).map(([name, value]) => [
      name.toLowerCase(),
      String(value),
    ]),
  );
  for (const name of Object.keys((node.headers as Doc | undefined) ?? {})) {
    if (headers[name.toLowerCase()] === undefined) problems.push(`missing header ${name}`);
  }
  if (headers['cache-control'] !== 'no-store') problems.push('Cache-Control is not no-store');
  const content = node.content as Doc | undefined;
  if (!content) {
    if (response.body) problems.push('body present where none is documented');
    return problems;
  }
  let body: unknown;
  try {
    body = JSON.parse(response.body);
  } catch {
    return [...problems, 'body is not JSON'];
  }
  const ref = `openapi#/${pointer([...path, 'content', 'application/json', 'schema'])}`;
  const validate = ajv.getSchema(ref) ?? ajv.compile({ $ref: ref });
  if (!validate(body)) {
    for (const error of validate.errors ?? [])
      problems.push(`${error.instancePath || '/'} ${error.message}`);
  }
  return problems;
}
