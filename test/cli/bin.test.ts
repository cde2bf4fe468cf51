/**
 * The real `token-broker` executable (cli/token-broker.mjs through tsx): exit codes and one-line
 * errors without stack traces, as an operator's shell sees them.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const run = promisify(execFile);

async function tokenBroker(...args: string[]) {
  try {
    const { stdout, stderr } = await run(process.execPath, ['cli/token-broker.mjs', ...args], {
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '' },
    });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code: number; stdout: string; stderr: string };
    return { code: failed.code, stdout: failed.stdout, stderr: failed.stderr };
  }
}

describe('token-broker executable', () => {
  it('prints help with exit code 0', async () => {
    const result = await tokenBroker('--help');
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^Usage: token-broker <command>/);
  });

  it('exits 2 on bad usage and 1 on a failed operation, one line each, no stack trace', async () => {
    const usage = await tokenBroker('verify');
    expect(usage).toMatchObject({ code: 2, stderr: 'error: --org is required\n' });
    const failed = await tokenBroker(
      'orgs',
      'get',
      '--org',
      'acme',
      '--local',
      '--stack-file',
      '/nonexistent/stack.json',
    );
    expect(failed.code).toBe(1);
    expect(failed.stderr).toMatch(/^error: No local stack found .*\n$/);
    expect(failed.stderr).not.toMatch(/\bat .*\.ts:\d+/);
  });
});
