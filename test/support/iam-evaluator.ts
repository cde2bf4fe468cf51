/**
 * A small IAM policy evaluator for the statement shapes the stack generates: Allow/Deny, Action
 * and Resource with `*`/`?` wildcards, and the condition operators used (StringEquals,
 * StringLike, StringNotEquals, ForAllValues:/ForAnyValue: on multi-valued keys, ...IfExists).
 * Explicit deny wins, then any allow, else implicit deny: IAM's order for a single account.
 * CloudFormation intrinsics are resolved to stable placeholder strings first.
 */

type Json = Record<string, unknown>;

export interface IamRequest {
  readonly action: string;
  readonly resource: string;
  /** Condition keys in the request context; multi-valued keys as arrays. */
  readonly context?: Readonly<Record<string, string | readonly string[]>>;
  /** The calling principal's ARN, for resource policies. */
  readonly principal?: string;
}

export interface Statement {
  readonly Sid?: string;
  readonly Effect: 'Allow' | 'Deny';
  readonly Action: string | readonly string[];
  readonly Resource: string | readonly string[];
  readonly Principal?: unknown;
  readonly Condition?: Readonly<Record<string, Readonly<Record<string, unknown>>>>;
}

export const PSEUDO = {
  'AWS::Partition': 'aws',
  'AWS::Region': 'eu-west-1',
  'AWS::AccountId': '123456789012',
  'AWS::URLSuffix': 'amazonaws.com',
} as const;

/** Fn::GetAtt [id, Arn] -> `arn:aws:test:eu-west-1:123456789012:{id}`; Ref -> the id. */
export function resolveIntrinsics(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(resolveIntrinsics);
  if (typeof value !== 'object' || value === null) return value;
  const object = value as Json;
  if ('Ref' in object) {
    const ref = String(object.Ref);
    return PSEUDO[ref as keyof typeof PSEUDO] ?? ref;
  }
  if ('Fn::GetAtt' in object) {
    const [id] = object['Fn::GetAtt'] as [string, string];
    return `arn:aws:test:eu-west-1:123456789012:${id}`;
  }
  if ('Fn::Join' in object) {
    const [separator, parts] = object['Fn::Join'] as [string, unknown[]];
    return parts.map((part) => String(resolveIntrinsics(part))).join(separator);
  }
  return Object.fromEntries(Object.entries(object).map(([k, v]) => [k, resolveIntrinsics(v)]));
}

const list = <T>(value: T | readonly T[]): readonly T[] =>
  Array.isArray(value) ? (value as readonly T[]) : [value as T];

function globMatches(pattern: string, value: string, caseInsensitive = false): boolean {
  const source = pattern
    .split('')
    .map((c) => (c === '*' ? '.*' : c === '?' ? '.' : c.replace(/[.+^${}()|[\]\\/]/g, '\\$&')))
    .join('');
  return new RegExp(`^${source}$`, caseInsensitive ? 'is' : 's').test(value);
}

function compare(operator: string, expected: string, actual: string): boolean {
  switch (operator) {
    case 'StringEquals':
    case 'ArnEquals':
      return expected === actual;
    case 'StringNotEquals':
    case 'ArnNotEquals':
      return expected !== actual;
    case 'StringLike':
    case 'ArnLike':
      return globMatches(expected, actual);
    case 'StringNotLike':
    case 'ArnNotLike':
      return !globMatches(expected, actual);
    default:
      throw new Error(`The evaluator does not know the operator ${operator}`);
  }
}

const NEGATED = /Not/;

function conditionHolds(
  rawOperator: string,
  key: string,
  expected: readonly string[],
  request: IamRequest,
): boolean {
  const ifExists = rawOperator.endsWith('IfExists');
  const [qualifier, operatorWithSuffix] = rawOperator.includes(':')
    ? (rawOperator.split(':') as [string, string])
    : [undefined, rawOperator];
  const operator = operatorWithSuffix.replace(/IfExists$/, '');
  const actual = key === 'aws:PrincipalArn' ? request.principal : request.context?.[key];
  if (actual === undefined) {
    // A missing key satisfies ForAllValues (vacuously) and ...IfExists; nothing else.
    return qualifier === 'ForAllValues' || ifExists;
  }
  const values = list(actual);
  const one = (value: string) =>
    NEGATED.test(operator)
      ? expected.every((e) => compare(operator, e, value))
      : expected.some((e) => compare(operator, e, value));
  if (qualifier === 'ForAllValues') return values.every(one);
  if (qualifier === 'ForAnyValue') return values.some(one);
  if (values.length !== 1) throw new Error(`${key} is multi-valued: qualify ${rawOperator}`);
  return one(values[0] as string);
}

function applies(statement: Statement, request: IamRequest): boolean {
  const actionOk = list(statement.Action).some((a) => globMatches(a, request.action, true));
  const resourceOk = list(statement.Resource).some((r) => globMatches(r, request.resource));
  if (!actionOk || !resourceOk) return false;
  return Object.entries(statement.Condition ?? {}).every(([operator, keys]) =>
    Object.entries(keys).every(([key, expected]) =>
      conditionHolds(operator, key, list(expected as string | string[]), request),
    ),
  );
}

/** Whether `statements` (one identity policy, or a resource policy) allow `request`. */
export function isAllowed(statements: readonly Statement[], request: IamRequest): boolean {
  const matching = statements.filter((s) => applies(s, request));
  if (matching.some((s) => s.Effect === 'Deny')) return false;
  return matching.some((s) => s.Effect === 'Allow');
}

/** Whether `statements` explicitly deny `request` (a resource policy's Deny). */
export function isDenied(statements: readonly Statement[], request: IamRequest): boolean {
  return statements.some((s) => s.Effect === 'Deny' && applies(s, request));
}
