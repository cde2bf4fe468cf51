/** Injected Salesforce-side failures (docs/emulator.md#faults): 5xx JSON, maintenance HTML, latency. */
import { html, oauthError, type Reply } from './http';
import type { Fault } from './model';

/** The page Salesforce serves during maintenance windows instead of JSON. */
const MAINTENANCE_PAGE = `<!DOCTYPE html>
<html><head><title>Salesforce - Down for Maintenance</title></head>
<body><h1>We are down for maintenance.</h1>
<p>Sorry for the inconvenience. We'll be back shortly.</p></body></html>`;

/** The reply a fault replaces the real one with; undefined for latency (which only delays). */
export function faultReply(fault: Fault): Reply | undefined {
  if (fault.kind === 'unknown_error')
    return oauthError('unknown_error', 'retry your request', fault.status);
  if (fault.kind === 'maintenance') return html(fault.status, MAINTENANCE_PAGE);
  return undefined;
}
