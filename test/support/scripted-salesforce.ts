/**
 * A scripted stand-in for Salesforce's token endpoint on a loopback port: records every request
 * (form fields parsed) and answers with whatever the test scripts, by default a success. The
 * Salesforce emulator is the faithful one; this one lets a test produce any status, body or delay.
 */
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface ReceivedRequest {
  readonly method: string;
  readonly path: string;
  readonly contentType: string | undefined;
  readonly form: Record<string, string>;
}

export interface ScriptedAnswer {
  readonly status: number;
  readonly contentType?: string;
  readonly body: string;
  /** Wait this long before answering, ms. */
  readonly delayMs?: number;
  readonly headers?: Record<string, string>;
}

export type Script = (request: ReceivedRequest) => ScriptedAnswer | Promise<ScriptedAnswer>;

export interface ScriptedSalesforce {
  /** `http://127.0.0.1:PORT`: use as an org's loginUrl. */
  readonly url: string;
  readonly requests: ReceivedRequest[];
  /** Answers in order, then repeats the last one. */
  answerWith(...answers: (ScriptedAnswer | Script)[]): void;
  close(): Promise<void>;
}

export const SUCCESS_BODY = {
  access_token: '00Dxx0000001gPL!AQ0AQH0dMHZfz972Szmpkb58urFRkgeBGsxL',
  scope: 'api refresh_token',
  instance_url: 'https://acme.my.salesforce.com',
  id: 'https://login.salesforce.com/id/00Dxx0000001gPLEAY/005xx000001SwiUAAS',
  token_type: 'Bearer',
};

export const json = (status: number, body: unknown, delayMs?: number): ScriptedAnswer => ({
  status,
  contentType: 'application/json;charset=UTF-8',
  body: JSON.stringify(body),
  ...(delayMs === undefined ? {} : { delayMs }),
});

export const sfError = (error: string, description: string, status = 400) =>
  json(status, { error, error_description: description });

export const MAINTENANCE_PAGE: ScriptedAnswer = {
  status: 503,
  contentType: 'text/html;charset=UTF-8',
  body: '<!DOCTYPE html><html><head><title>Salesforce - Down For Maintenance</title></head><body><h1>We are down for maintenance.</h1></body></html>',
};

async function readForm(request: IncomingMessage): Promise<Record<string, string>> {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  return Object.fromEntries(new URLSearchParams(Buffer.concat(chunks).toString('utf8')));
}

export async function startScriptedSalesforce(): Promise<ScriptedSalesforce> {
  const requests: ReceivedRequest[] = [];
  let answers: (ScriptedAnswer | Script)[] = [json(200, SUCCESS_BODY)];
  let served = 0;
  const server = createServer(async (request, response) => {
    const received: ReceivedRequest = {
      method: request.method ?? '',
      path: request.url ?? '',
      contentType: request.headers['content-type'],
      form: await readForm(request),
    };
    requests.push(received);
    const next = answers[Math.min(served, answers.length - 1)] as ScriptedAnswer | Script;
    served += 1;
    const answer = typeof next === 'function' ? await next(received) : next;
    if (answer.delayMs) await new Promise((resolve) => setTimeout(resolve, answer.delayMs));
    if (response.destroyed) return;
    response.writeHead(answer.status, {
      ...(answer.contentType ? { 'content-type': answer.contentType } : {}),
      ...answer.headers,
    });
    response.end(answer.body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    answerWith(...next) {
      answers = next;
      served = 0;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
