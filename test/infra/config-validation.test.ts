import { App, Duration, Stack } from 'aws-cdk-lib';
import { describe, expect, it } from 'vitest';
import { createBrokerApp } from '../../lib/broker-app';
import { readBrokerContext } from '../../lib/broker-context';
import { TokenBrokerConfigError } from '../../lib/resolve-config';
import { TokenBroker, type TokenBrokerProps } from '../../lib/token-broker';

// Validation runs before any resource (or bundle) is created, so these need no synth.
const build = (props: TokenBrokerProps) => () => new TokenBroker(new Stack(), 'Broker', props);
const domain = {
  domainName: 'broker.example.com',
  certificateArn:
    'arn:aws:acm:eu-west-1:123456789012:certificate/0a1b2c3d-1111-2222-3333-444455556666',
};

describe('TokenBroker props validation', () => {
  it.each<[string, TokenBrokerProps, RegExp]>([
    [
      'stage name with a slash',
      { stageName: 'prod/v1' },
      /stageName "prod\/v1" is not a valid API Gateway stage name; use letters, digits/,
    ],
    [
      'domain with a scheme',
      { customDomain: { ...domain, domainName: 'https://broker.example.com' } },
      /customDomain\.domainName .* without scheme, path or trailing dot/,
    ],
    [
      'certificate that is not an ACM ARN',
      { customDomain: { ...domain, certificateArn: 'my-cert' } },
      /customDomain\.certificateArn "my-cert" must be an ACM certificate ARN/,
    ],
    [
      'zone that does not contain the domain',
      {
        customDomain: {
          ...domain,
          hostedZone: { hostedZoneId: 'Z0123456789ABC', zoneName: 'example.org' },
        },
      },
      /is not inside hostedZone\.zoneName "example\.org"; give the zone that contains the domain, or omit hostedZone/,
    ],
    [
      'malformed zone id',
      {
        customDomain: {
          ...domain,
          hostedZone: { hostedZoneId: 'example.com', zoneName: 'example.com' },
        },
      },
      /hostedZoneId "example\.com" must look like "Z0123456789ABC"/,
    ],
    [
      'secret prefix without a trailing slash',
      { signingKeySecretPrefix: 'salesforce-token-broker' },
      /signingKeySecretPrefix "salesforce-token-broker" must be a secret-name prefix ending in "\/"/,
    ],
    [
      'alarm e-mail that is not an address',
      { alarmEmail: 'ops team' },
      /alarmEmail "ops team" is not an e-mail address; omit it/,
    ],
    [
      'burst below rate',
      { throttling: { rateLimit: 100, burstLimit: 10 } },
      /throttling\.burstLimit 10 must be at least rateLimit 100/,
    ],
    [
      'zero public rate',
      { publicRouteThrottling: { rateLimit: 0, burstLimit: 10 } },
      /publicRouteThrottling\.rateLimit 0 must be a positive number/,
    ],
    [
      'Salesforce timeout too long for the callback',
      { salesforceTimeout: Duration.seconds(10) },
      /salesforceTimeout is 10000 ms; give a duration from 1000 ms to 6000 ms/,
    ],
    [
      'state TTL of two hours',
      { oauthStateTtl: Duration.hours(2) },
      /oauthStateTtl is 7200 s; give a duration from 60 s to 3600 s/,
    ],
    [
      'reminder every few seconds',
      { incidentReminderInterval: Duration.seconds(5) },
      /incidentReminderInterval is 5 s; give a duration from 60 s/,
    ],
    [
      'error rate given as a percentage',
      { serverErrorRateThreshold: 5 },
      /serverErrorRateThreshold 5 must be a fraction above 0 and at most 1 \(0\.05 = 5%\)/,
    ],
    [
      'unknown log level',
      { logLevel: 'TRACE' as never },
      /logLevel "TRACE" is not one of DEBUG, INFO, WARN, ERROR/,
    ],
  ])('rejects a %s, saying the fix', (_name, props, message) => {
    expect(build(props)).toThrow(TokenBrokerConfigError);
    expect(build(props)).toThrow(message);
  });
});

describe('context parsing', () => {
  const read = (context: Record<string, unknown>) => () =>
    readBrokerContext(new App({ context }).node);

  it('reads -c strings as numbers, booleans, durations and JSON objects', () => {
    const props = read({
      stageName: 'v1',
      logRetentionDays: '30',
      salesforceTimeoutMs: '4000',
      oauthStateTtlSeconds: 300,
      manageApiGatewayAccountRole: 'false',
      removalPolicy: 'destroy',
      throttling: '{"rateLimit":10,"burstLimit":20}',
    })();
    expect(props).toMatchObject({
      stageName: 'v1',
      logRetention: 30,
      manageApiGatewayAccountRole: false,
      removalPolicy: 'destroy',
      throttling: { rateLimit: 10, burstLimit: 20 },
    });
    expect(props.salesforceTimeout?.toMilliseconds()).toBe(4000);
    expect(props.oauthStateTtl?.toSeconds()).toBe(300);
  });

  it('leaves absent keys to the construct defaults', () => {
    expect(Object.values(read({})()).every((v) => v === undefined)).toBe(true);
  });

  it.each<[Record<string, unknown>, RegExp]>([
    [
      { logRetentionDays: 45 },
      /context "logRetentionDays" must be one of CloudWatch's retention periods \(.*\b30\b.*\), got 45; fix cdk\.json or the -c logRetentionDays=\.\.\. argument/,
    ],
    [
      { removalPolicy: 'keep' },
      /context "removalPolicy" must be "retain" or "destroy", got "keep"/,
    ],
    [{ customDomain: '{domainName:' }, /context "customDomain" must be a JSON object/],
    [{ salesforceTimeoutMs: 'five' }, /context "salesforceTimeoutMs" must be a number, got "five"/],
    [{ sourceMapStackTraces: 'yes' }, /context "sourceMapStackTraces" must be true or false/],
  ])('rejects bad context %j', (context, message) => {
    expect(read(context)).toThrow(message);
  });
});

describe('the CDK app with a value the construct rejects', () => {
  it.each<[Record<string, unknown>, string]>([
    [
      { salesforceTimeoutMs: '99999' },
      'context "salesforceTimeoutMs" is 99999; give a number of milliseconds from 1000 to 6000; fix cdk.json or the -c salesforceTimeoutMs=... argument',
    ],
    [
      { oauthStateTtlSeconds: 5 },
      'context "oauthStateTtlSeconds" is 5; give a number of seconds from 60 to 3600; fix cdk.json or the -c oauthStateTtlSeconds=... argument',
    ],
    [
      { throttling: '{"rateLimit":100,"burstLimit":10}' },
      'context "throttling": throttling.burstLimit 10 must be at least rateLimit 100; fix cdk.json or the -c throttling=... argument',
    ],
  ])('names the context key of %j, not the prop', (context, message) => {
    const build = () => createBrokerApp({ context });
    expect(build).toThrow(TokenBrokerConfigError);
    expect(build).toThrow(message);
  });
});
