import { describe, expect, it } from 'vitest';
import { isCallerAllowed, normalizeCallerArn } from '../../lambda/core/caller';

describe('normalizeCallerArn', () => {
  it.each([
    [
      'arn:aws:sts::123456789012:assumed-role/Fulfilment/session-1',
      'arn:aws:iam::123456789012:role/Fulfilment',
    ],
    ['arn:aws:iam::123456789012:role/Fulfilment', 'arn:aws:iam::123456789012:role/Fulfilment'],
    [
      'arn:aws:iam::123456789012:role/service/Fulfilment',
      'arn:aws:iam::123456789012:role/Fulfilment',
    ],
    [
      'arn:aws-us-gov:sts::123456789012:assumed-role/R/s',
      'arn:aws-us-gov:iam::123456789012:role/R',
    ],
    ['arn:aws:iam::123456789012:user/ops/alice', 'arn:aws:iam::123456789012:user/ops/alice'],
  ])('%s -> %s', (input, expected) => {
    expect(normalizeCallerArn(input)).toBe(expected);
  });

  it.each([
    '',
    '*',
    'arn:aws:iam::123456789012:root',
    'arn:aws:sts::12345:assumed-role/R/s',
    'Fulfilment',
  ])('rejects %j', (input) => {
    expect(normalizeCallerArn(input)).toBeUndefined();
  });
});

describe('isCallerAllowed', () => {
  const org = { callers: ['arn:aws:iam::123456789012:role/Fulfilment'] };

  it('admits an assumed-role session of a listed role', () => {
    expect(isCallerAllowed(org, 'arn:aws:sts::123456789012:assumed-role/Fulfilment/i-0abc')).toBe(
      true,
    );
  });

  it('denies other roles, other accounts, no caller, and everyone when the list is empty', () => {
    expect(isCallerAllowed(org, 'arn:aws:sts::123456789012:assumed-role/Other/s')).toBe(false);
    expect(isCallerAllowed(org, 'arn:aws:sts::210987654321:assumed-role/Fulfilment/s')).toBe(false);
    expect(isCallerAllowed(org, null)).toBe(false);
    expect(isCallerAllowed(org, 'garbage')).toBe(false);
    expect(
      isCallerAllowed({ callers: [] }, 'arn:aws:sts::123456789012:assumed-role/Fulfilment/s'),
    ).toBe(false);
  });
});
