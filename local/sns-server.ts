/**
 * A local endpoint speaking SNS's Query protocol (form-encoded `Action=Publish&...` requests, XML
 * responses and `<ErrorResponse>` errors), so the functions' SNS client (aws-request.ts) can be
 * exercised through its encoding, error parsing and retries. Loopback only.
 */
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

const XMLNS = 'http://sns.amazonaws.com/doc/2010-03-31/';

/** A message as SNS received it. */
export interface ReceivedMessage {
  readonly messageId: string;
  readonly topicArn: string;
  readonly message: string;
  readonly subject: string | undefined;
  /** String attributes by name. */
  readonly attributes: Readonly<Record<string, string>>;
}

/** An SNS error response as the real service sends it. */
export interface SnsFault {
  readonly code: string;
  readonly status: number;
  readonly message?: string;
}

/** Faults SNS really answers with (Publish API reference and common errors). */
export const SNS_FAULTS = {
  notFound: { code: 'NotFound', status: 404, message: 'Topic does not exist' },
  authorizationError: {
    code: 'AuthorizationError',
    status: 403,
    message: 'User is not authorized to perform: SNS:Publish on resource',
  },
  throttling: { code: 'Throttling', status: 400, message: 'Rate exceeded' },
  internalError: { code: 'InternalError', status: 500, message: 'Internal Error' },
  kmsAccessDenied: {
    code: 'KMSAccessDenied',
    status: 400,
    message: 'The ciphertext refers to a customer master key that does not exist',
  },
} as const satisfies Record<string, SnsFault>;

/** What the next request gets instead of normal handling: an error, or no answer at all. */
export type InjectedFault = SnsFault | 'hang';

export interface LocalSns {
  /** `http://127.0.0.1:{port}` */
  readonly endpoint: string;
  /** Messages accepted, in order. */
  readonly messages: readonly ReceivedMessage[];
  /** Every request received, accepted or not. */
  requestCount(): number;
  /** Topic ARNs that exist; Publish to any other answers `NotFound`. */
  createTopic(name: string): string;
  /** The next `times` requests get `fault`. */
  injectFault(fault: InjectedFault, times?: number): void;
  close(): Promise<void>;
}

function escapeXml(text: string): string {
  return text.replace(
    /[<>&'"]/g,
    (char) =>
      ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', "'": '&apos;', '"': '&quot;' })[char] ?? '',
  );
}

function sendXml(response: ServerResponse, status: number, body: string): void {
  response.writeHead(status, {
    'content-type': 'text/xml',
    'x-amzn-requestid': randomUUID(),
  });
  response.end(`<?xml version="1.0"?>\n${body}`);
}

function sendError(response: ServerResponse, fault: SnsFault): void {
  const type = fault.status >= 500 ? 'Receiver' : 'Sender';
  sendXml(
    response,
    fault.status,
    `<ErrorResponse xmlns="${XMLNS}"><Error><Type>${type}</Type><Code>${escapeXml(fault.code)}</Code>` +
      `<Message>${escapeXml(fault.message ?? fault.code)}</Message></Error>` +
      `<RequestId>${randomUUID()}</RequestId></ErrorResponse>`,
  );
}

/** `MessageAttributes.entry.N.Name` / `.Value.DataType` / `.Value.StringValue` -> name: value. */
function parseAttributes(form: URLSearchParams): Record<string, string> {
  const attributes: Record<string, string> = {};
  for (let index = 1; form.has(`MessageAttributes.entry.${index}.Name`); index++) {
    const prefix = `MessageAttributes.entry.${index}`;
    attributes[form.get(`${prefix}.Name`) ?? ''] = form.get(`${prefix}.Value.StringValue`) ?? '';
  }
  return attributes;
}

async function readBody(request: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

/** Starts the endpoint on an ephemeral loopback port. */
export async function startLocalSns(options: { region?: string } = {}): Promise<LocalSns> {
  const region = options.region ?? 'eu-west-1';
  const topics = new Set<string>();
  const messages: ReceivedMessage[] = [];
  const faults: InjectedFault[] = [];
  let requests = 0;

  function publish(form: URLSearchParams, response: ServerResponse): void {
    const topicArn = form.get('TopicArn') ?? '';
    const message = form.get('Message');
    if (!message) {
      sendError(response, { code: 'InvalidParameter', status: 400, message: 'Empty message' });
      return;
    }
    const subject = form.get('Subject') ?? undefined;
    // SNS: ASCII, starting with a letter, number or punctuation, no line breaks, at most 100 chars.
    if (subject !== undefined && !/^[\x21-\x7e][\x20-\x7e]{0,99}$/.test(subject)) {
      sendError(response, {
        code: 'InvalidParameter',
        status: 400,
        message: 'Invalid parameter: Subject',
      });
      return;
    }
    if (!topics.has(topicArn)) {
      sendError(response, SNS_FAULTS.notFound);
      return;
    }
    const messageId = randomUUID();
    messages.push({
      messageId,
      topicArn,
      message,
      subject,
      attributes: parseAttributes(form),
    });
    sendXml(
      response,
      200,
      `<PublishResponse xmlns="${XMLNS}"><PublishResult><MessageId>${messageId}</MessageId></PublishResult>` +
        `<ResponseMetadata><RequestId>${randomUUID()}</RequestId></ResponseMetadata></PublishResponse>`,
    );
  }

  const server = createServer(async (request, response) => {
    requests++;
    const form = new URLSearchParams(await readBody(request));
    const fault = faults.shift();
    if (fault === 'hang') return;
    if (fault) {
      sendError(response, fault);
      return;
    }
    if (form.get('Action') !== 'Publish') {
      sendError(response, {
        code: 'InvalidAction',
        status: 400,
        message: `Unsupported action ${form.get('Action') ?? ''}`,
      });
      return;
    }
    publish(form, response);
  });
  await new Promise<void>((resolve, reject) => {
    // A taken port must reject (and be reported by the caller), not crash the process.
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;

  return {
    endpoint: `http://127.0.0.1:${port}`,
    messages,
    requestCount: () => requests,
    createTopic(name) {
      const arn = `arn:aws:sns:${region}:000000000000:${name}`;
      topics.add(arn);
      return arn;
    },
    injectFault(fault, times = 1) {
      for (let i = 0; i < times; i++) faults.push(fault);
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
