// Debian's Chromium driven by playwright-core (no downloaded browser).
import { existsSync } from 'node:fs';
import { chromium } from 'playwright-core';

export const CHROMIUM = process.env.CHROMIUM_PATH || '/usr/bin/chromium';

export async function launchBrowser() {
  if (!existsSync(CHROMIUM)) {
    throw new Error(`Chromium not found at ${CHROMIUM}: install it (apt-get install -y chromium) or set CHROMIUM_PATH`);
  }
  try {
    // playwright-core gives every launch a fresh temporary --user-data-dir.
    return await chromium.launch({
      executablePath: CHROMIUM,
      headless: true,
      timeout: 60000,
      args: [
        '--no-sandbox',
        '--disable-gpu',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
        '--no-first-run',
        '--disable-quic',
      ],
    });
  } catch (error) {
    throw new Error(`Chromium at ${CHROMIUM} could not start: ${error.message}`);
  }
}

/**
 * A new browser context with JavaScript disabled (the UI must work without
 * it); records Content-Security-Policy violations reported on the console.
 */
export async function newPage(browser, { colorScheme = 'light', viewport = { width: 1280, height: 800 } } = {}) {
  const context = await browser.newContext({ javaScriptEnabled: false, colorScheme, viewport });
  context.setDefaultTimeout(15000);
  const page = await context.newPage();
  page.cspViolations = [];
  page.on('console', (message) => {
    if (/Content Security Policy/i.test(message.text())) page.cspViolations.push(message.text());
  });
  return page;
}
