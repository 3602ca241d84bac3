import fs from 'node:fs';
import { type Browser, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TestCluster } from '../helpers/cluster';

/**
 * The name node's status page in a real browser: Debian's headless Chromium
 * driven by playwright-core (never a downloaded browser). A data node killed
 * during the test must show as dead without reloading the page.
 */

const CHROMIUM = '/usr/bin/chromium';
const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

describe('the status page', () => {
  let cluster: TestCluster;
  let browser: Browser;
  let page: Page;
  const problems: string[] = [];

  beforeAll(async () => {
    // A missing browser is a broken environment, not a reason to skip: scripts/ensure-env.sh installs it.
    if (!fs.existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} not found: apt-get install chromium`);
    cluster = await new TestCluster({ dataNodes: 3, replication: 2, nodeTimeout: '2s' }).start();
    browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS });
    page = await browser.newPage();
    // Any script error or CSP violation (e.g. an inline script or style) fails the test.
    page.on('pageerror', (err) => problems.push(`page error: ${err.message}`));
    page.on('console', (msg) => {
      if (msg.type() === 'error') problems.push(`console: ${msg.text()}`);
    });
  });

  afterAll(async () => {
    await browser?.close();
    await cluster?.stop();
  });

  const url = () => `http://127.0.0.1:${cluster.namenode.httpPort}/`;
  const row = (id: string) => page.locator(`#nodes tbody tr[data-node-id="${id}"]`);

  it('is served with a strict Content-Security-Policy and no external assets', async () => {
    const res = await fetch(url());
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/html/);
    const csp = res.headers.get('content-security-policy') ?? '';
    expect(csp).toContain("default-src 'none'");
    expect(csp).toContain("script-src 'self'");
    expect(csp).not.toContain('unsafe-inline');
    expect(await res.text()).not.toMatch(/https?:\/\//);
    const api = await fetch(`${url()}api/status`);
    expect(api.headers.get('content-type')).toMatch(/^application\/json/);
  });

  it('shows the cluster summary and three live data nodes', async () => {
    await page.goto(url());
    await expect.poll(() => page.locator('#nodes tbody tr[data-state="live"]').count(), { timeout: 15_000 }).toBe(3);
    for (const dn of cluster.datanodes) {
      await expect.poll(() => row(dn.id).locator('[data-field="address"]').textContent()).toBe(dn.address);
      expect(await row(dn.id).locator('[data-field="state"]').textContent()).toBe('live');
      expect(await row(dn.id).locator('meter').count()).toBe(1);
    }
    const summary = page.locator('#summary');
    expect(await summary.locator('[data-field="liveNodes"]').textContent()).toBe('3');
    expect(await summary.locator('[data-field="deadNodes"]').textContent()).toBe('0');
    expect(await summary.locator('[data-field="replication"]').textContent()).toBe('2');
    expect(await summary.locator('[data-field="secured"]').textContent()).toBe('open');
    expect(await page.locator('#connection').getAttribute('data-state')).toBe('ok');
    await expect.poll(() => page.locator('#events [data-kind="node-registered"]').count(), { timeout: 10_000 }).toBe(3);
  });

  it('shows a killed data node as dead without a reload', async () => {
    const victim = cluster.datanodes[1];
    const loadedAt = await page.evaluate(() => performance.timeOrigin);
    await victim.proc.kill('SIGKILL');
    // --node-timeout 2s, the name node's sweep, and the page's 2 s refresh.
    await expect.poll(() => row(victim.id).getAttribute('data-state'), { timeout: 15_000 }).toBe('dead');
    expect(await row(victim.id).locator('[data-field="state"]').textContent()).toBe('dead');
    expect(await page.locator('#nodes tbody tr[data-state="live"]').count()).toBe(2);
    expect(await page.locator('#summary [data-field="deadNodes"]').textContent()).toBe('1');
    await expect.poll(() => page.locator('#events [data-kind="node-dead"]').count(), { timeout: 10_000 }).toBe(1);
    expect(await page.evaluate(() => performance.timeOrigin)).toBe(loadedAt); // same document: no reload
    expect(problems).toEqual([]);
  });
});
