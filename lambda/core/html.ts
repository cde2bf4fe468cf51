/**
 * Minimal, safe HTML for the broker's pages: every dynamic value goes through {@link escapeHtml},
 * the only style is one inline block allowed by its CSP hash, and nothing is loaded from anywhere.
 */
import { createHash } from 'node:crypto';

const ESCAPES: Readonly<Record<string, string>> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
};

/** Escapes text for use in element content and in double- or single-quoted attributes. */
export function escapeHtml(value: string): string {
  return value.replace(/[&<>"']/g, (char) => ESCAPES[char] ?? char);
}

const STYLE = [
  'body{font-family:system-ui,sans-serif;line-height:1.5;margin:0;background:#f6f7f9;color:#1b1f24}',
  // Usernames, consumer keys, URLs and Salesforce's messages have no spaces to break at; inherited
  // by everything in main so no text widens the page (word-break for engines without anywhere).
  'main{max-width:46rem;margin:2rem auto;padding:1.5rem 2rem;background:#fff;border-radius:8px;border:1px solid #d8dde3;overflow-wrap:anywhere;word-break:break-word}',
  'h1{font-size:1.5rem;margin-top:0}h2{font-size:1.1rem;margin-top:1.5rem}',
  '.ok h1{color:#1a7f37}.fail h1{color:#b42318}.notice h1{color:#1b1f24}',
  // minmax(0,1fr): a plain 1fr column never shrinks below its longest unbroken value.
  'dl{display:grid;grid-template-columns:max-content minmax(0,1fr);gap:.25rem 1rem}dt{font-weight:600}dd{margin:0}',
  'code{background:#eef1f4;padding:0 .25rem;border-radius:3px}',
  'footer{margin-top:2rem;font-size:.85rem;color:#57606a}',
].join('');

const styleHash = createHash('sha256').update(STYLE, 'utf8').digest('base64');

/** A CSP that allows nothing but the page's own inline style block (by hash). */
export const CONTENT_SECURITY_POLICY = [
  "default-src 'none'",
  `style-src 'sha256-${styleHash}'`,
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

/**
 * HSTS for a year: the API is HTTPS-only, and a browser that met it once never tries plain HTTP,
 * where a link could be read. No `includeSubDomains`: on a custom domain that is the domain
 * owner's decision, not the broker's.
 */
export const STRICT_TRANSPORT_SECURITY = 'max-age=31536000';

/** Headers every broker page (and redirect) carries (docs/contracts.md#page-headers). */
export const PAGE_SECURITY_HEADERS: Readonly<Record<string, string>> = {
  'Strict-Transport-Security': STRICT_TRANSPORT_SECURITY,
  'Cache-Control': 'no-store',
  'Referrer-Policy': 'no-referrer',
  'Content-Security-Policy': CONTENT_SECURITY_POLICY,
  'X-Content-Type-Options': 'nosniff',
  'X-Frame-Options': 'DENY',
};

export type PageTone = 'ok' | 'fail' | 'notice';

/**
 * A complete HTML document.
 * @param title plain text; escaped here
 * @param bodyHtml already-escaped markup
 * @param tone `ok`, `fail`, or `notice` for news that is neither (no alarming red)
 */
export function renderDocument(input: {
  readonly title: string;
  readonly bodyHtml: string;
  readonly tone: PageTone;
}): string {
  return [
    '<!doctype html>',
    '<html lang="en"><head><meta charset="utf-8">',
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    '<meta name="referrer" content="no-referrer">',
    `<title>${escapeHtml(input.title)} - Salesforce token broker</title>`,
    `<style>${STYLE}</style>`,
    `</head><body class="${input.tone}"><main>`,
    input.bodyHtml,
    '</main></body></html>',
  ].join('\n');
}
