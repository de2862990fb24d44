/**
 * The dashboard in a real browser: `raftkv local` runs 3 members on free loopback ports,
 * playwright-core drives Debian's chromium (/usr/bin/chromium) to a member's page, which
 * must show exactly one leader; the test kills the leader from the page, sees a new leader
 * within seconds, saves a screenshot (test-results/dashboard.png; also docs/dashboard.png
 * with RAFTKV_DOCS_SCREENSHOT=1), then restarts the killed member from the page and sees it
 * rejoin as a follower.
 *
 * Without /usr/bin/chromium the suite is skipped with a warning, except under CI=true,
 * where it fails: CI must install chromium (apt-get install chromium).
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import type { BrowserContext, Page } from 'playwright-core';
import { freePorts, json, Proc, until } from './raftkv_procs.ts';

const CHROMIUM = process.env.RAFTKV_CHROMIUM ?? '/usr/bin/chromium';
const missing = !existsSync(CHROMIUM);
const ci = process.env.CI === 'true';
const skip = missing && !ci ? `${CHROMIUM} is missing (apt-get install chromium)` : false;
if (skip !== false) {
  console.error(`\n*** SKIPPED: the dashboard browser test: ${skip} ***\n`);
}

const repo = fileURLToPath(new URL('..', import.meta.url));
const artifacts = join(repo, 'test-results');

/** CHROMIUM_ARGS: headless, no sandbox (root in CI), nothing that reaches the network. */
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

interface ControlNode {
  id: number;
  clientUrl: string;
  running: boolean;
}

interface Card {
  id: number;
  role: string;
  link: string;
}

/** CARDS reads the member cards in the page (a string: this file is not built for the DOM). */
const CARDS = `[...document.querySelectorAll('[data-testid=node-card]')].map((c) => ({
  id: Number(c.dataset.nodeId), role: c.dataset.role, link: c.dataset.link }))`;

/** pageView returns the ids of the cards the page shows as leader, up and down. */
async function pageView(page: Page): Promise<{ leaders: number[]; up: number[]; down: number[] }> {
  const cards = await page.evaluate<Card[]>(CARDS);
  const ids = (f: (c: Card) => boolean) => cards.filter(f).map((c) => c.id);
  return {
    leaders: ids((c) => c.role === 'leader'),
    up: ids((c) => c.link === 'up'),
    down: ids((c) => c.role === 'down'),
  };
}

describe('dashboard in chromium', { timeout: 120_000 }, () => {
  let root = '';
  let local: Proc | undefined;
  let context: BrowserContext | undefined;
  let controlUrl = '';
  let clientUrls: string[] = [];
  const load = new AbortController();
  let loadDone: Promise<void> = Promise.resolve();

  /** writeLoad keeps a trickle of writes going (about 25/s) so that the charts move. */
  async function writeLoad(signal: AbortSignal): Promise<void> {
    for (let i = 0; !signal.aborted; i++) {
      const url = clientUrls[i % clientUrls.length] as string;
      await fetch(`${url}/kv/load/${i % 500}`, {
        method: 'PUT',
        body: `value ${i}`,
        signal: AbortSignal.any([signal, AbortSignal.timeout(2000)]),
      }).catch(() => undefined);
      await delay(40, undefined, { signal }).catch(() => undefined);
    }
  }

  before(async () => {
    if (skip !== false) return;
    if (missing) throw new Error(`${CHROMIUM} is missing and CI=true: install chromium`);
    root = await mkdtemp(join(tmpdir(), 'raftkv-dashboard-'));
    const ports = await freePorts(7);
    const [control, ...rest] = ports as [number, ...number[]];
    const clients = rest.slice(0, 3);
    const peers = rest.slice(3, 6);
    controlUrl = `http://127.0.0.1:${control}`;
    clientUrls = clients.map((p) => `http://127.0.0.1:${p}`);
    local = new Proc('local', [
      'local',
      ...['--nodes', '3', '--data-dir', join(root, 'data')],
      ...['--client-ports', clients.join(','), '--peer-ports', peers.join(',')],
      ...['--control-addr', `127.0.0.1:${control}`],
    ]);
    await local.waitLine(/Control API/, 60_000);
    loadDone = writeLoad(load.signal);
    context = await chromium.launchPersistentContext(join(root, 'chromium-profile'), {
      executablePath: CHROMIUM,
      headless: true,
      args: CHROMIUM_ARGS,
      viewport: { width: 1440, height: 900 },
    });
  });

  after(async () => {
    load.abort();
    await loadDone;
    await context?.close();
    await local?.stop('SIGTERM');
    if (root !== '') await rm(root, { recursive: true, force: true });
  });

  test('shows one leader; a new one within seconds after the page kills it', { skip }, async () => {
    const page = (context as BrowserContext).pages()[0] ?? (await context!.newPage());
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(clientUrls[0] as string);

    const before = await until(
      'the page to show 3 members up and exactly one leader',
      async () => {
        const v = await pageView(page);
        return v.up.length === 3 && v.leaders.length === 1 ? v : undefined;
      },
      30_000,
      100,
    );
    const old = before.leaders[0] as number;
    await page.locator(`[data-testid=node-card][data-node-id="${old}"] [data-action=kill]`).click();
    const killedAt = performance.now();

    const afterKill = await until(
      `a new leader after killing node ${old}`,
      async () => {
        const v = await pageView(page);
        const fresh = v.leaders.length === 1 && v.leaders[0] !== old && v.down.includes(old);
        return fresh ? v : undefined;
      },
      15_000,
      50,
    );
    const seconds = (performance.now() - killedAt) / 1000;
    assert.deepEqual(afterKill.leaders.length, 1);
    assert.ok(seconds < 10, `new leader after ${seconds.toFixed(1)} s`);
    const killed = (await json<{ nodes: ControlNode[] }>(`${controlUrl}/cluster`)).body.nodes;
    assert.equal(killed.find((n) => n.id === old)?.running, false, 'the supervisor killed it');

    // Writes go on through the new leader (and the charts show it before the picture).
    const leaderUrl = clientUrls[(afterKill.leaders[0] as number) - 1] as string;
    const appliedAt = async () =>
      (await json<{ raft_applied_index: number }>(`${leaderUrl}/status`)).body.raft_applied_index;
    const atFailover = await appliedAt();
    await until(
      'writes to go on after the failover',
      async () => ((await appliedAt()) >= atFailover + 60 ? true : undefined),
      20_000,
      100,
    );
    await page.locator('[data-testid=events] li.leader').first().waitFor({ timeout: 5000 });
    await mkdir(artifacts, { recursive: true });
    const shot = await page.screenshot({ path: join(artifacts, 'dashboard.png'), fullPage: true });
    if (process.env.RAFTKV_DOCS_SCREENSHOT === '1') {
      await page.screenshot({ path: join(repo, 'docs', 'dashboard.png'), fullPage: true });
    }
    assert.ok(shot.length > 10_000, 'the screenshot holds a picture');

    await page
      .locator(`[data-testid=node-card][data-node-id="${old}"] [data-action=restart]`)
      .click();
    await until(
      `node ${old} back as a follower`,
      async () => {
        const v = await pageView(page);
        return v.up.includes(old) && v.leaders.length === 1 && v.leaders[0] !== old ? v : undefined;
      },
      45_000,
      100,
    );
    assert.deepEqual(errors, [], 'no uncaught errors in the page');
  });
});
