/**
 * Headless Chromium for browser-driven tests (Debian's chromium, driven by playwright-core).
 * Share one browser per test file: launching costs far more than a new context.
 */
import { type Browser, chromium, type Locator } from 'playwright-core';

/** Flags that keep Chromium quiet and offline in CI containers. */
export const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/** Launches headless Chromium from `CHROMIUM_PATH` or `/usr/bin/chromium`. */
export function launchBrowser(): Promise<Browser> {
  return chromium.launch({
    executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
    headless: true,
    args: CHROMIUM_ARGS,
  });
}

/**
 * An element's text as the reader sees it, whitespace collapsed to single spaces. Rendered text
 * (unlike `textContent`) keeps a break between block elements, so a `<dt>` label and its `<dd>`
 * value read "Approved as someone", not "Approved assomeone".
 */
export async function visibleText(locator: Locator): Promise<string> {
  return (await locator.allInnerTexts()).join(' ').replace(/\s+/g, ' ');
}
