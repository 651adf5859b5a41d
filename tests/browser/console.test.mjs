// Walks the /console page in Debian's headless Chromium, as a person would (issue 9).
//
// Needs a hub in development mode at HUB_URL (scripts/test-browser starts one). Two walks, each
// in a fresh browser context and so a fresh demo:
//   1. the happy path of a three-party session, ending in a screenshot (SCREENSHOT);
//   2. an ordinary session: the sixth shop message in a row is refused, and a buyer whose
//      connection drops meanwhile resumes with no gap and no duplicate.
// Every step names what it waits for; the first missing one fails its walk with that name.
// The last line is `console: N passed, M failed`.

import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { chromium } from 'playwright-core';

const HUB_URL = process.env.HUB_URL || 'http://127.0.0.1:8080';
const SCREENSHOT = process.env.SCREENSHOT || new URL('../../target/console.png', import.meta.url).pathname;
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
const STEP_TIMEOUT_MS = 10_000;
// Chromium's background networking fails on a closed network; keep it off.
const CHROMIUM_ARGS = [
  '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync',
];

const results = [];

class StepFailed extends Error {}

async function step(name, body) {
  const started = Date.now();
  try {
    await body();
  } catch (error) {
    results.push({ name, passed: false });
    console.log(`FAIL ${name}\n     ${String(error.message || error).split('\n')[0]}`);
    throw new StepFailed(name);
  }
  results.push({ name, passed: true });
  console.log(`ok   ${name} (${Date.now() - started} ms)`);
}

/** Waits until `locator` has at least one visible match. */
async function shows(locator) {
  await locator.first().waitFor({ state: 'visible', timeout: STEP_TIMEOUT_MS });
}

/** Waits until `fn(arg)` is true in the page. */
async function until(page, fn, arg) {
  await page.waitForFunction(fn, arg, { timeout: STEP_TIMEOUT_MS, polling: 50 });
}

async function openConsole(browser) {
  const context = await browser.newContext({ viewport: { width: 1680, height: 1000 } });
  const page = await context.newPage();
  const problems = [];
  page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
  page.on('console', (message) => {
    if (message.type() === 'error') problems.push(`console error: ${message.text()}`);
  });
  await page.goto(`${HUB_URL}/console`);
  const panes = {
    page,
    problems,
    context,
    buyer: page.locator('#pane-buyer'),
    agent: page.locator('#pane-agent'),
    courier: page.locator('#pane-courier'),
    decision: page.locator('#decision'),
  };
  return panes;
}

/** Steps every walk starts with: a demo, three open sockets, desks on duty, a chat. */
async function startChat(c) {
  await step('seed demo: the page shows the demo order', async () => {
    await shows(c.page.locator('#demo-info', { hasText: 'demo-order-' }));
  });
  await step('three panes connect', async () => {
    for (const pane of [c.buyer, c.agent, c.courier]) await shows(pane.locator('.conn[data-state="open"]'));
  });
  await step('courier available, agent online', async () => {
    await shows(c.courier.locator('.presence[data-status="available"]'));
    await shows(c.agent.locator('.presence[data-status="online"]'));
  });
  await step('buyer opens a chat from the order page; the agent gets it', async () => {
    await c.buyer.locator('button.open').click();
    await shows(c.buyer.locator('.session-head', { hasText: 'demo-shop' }));
    await shows(c.agent.locator('.session-head', { hasText: 'demo-buyer-' }));
  });
}

/** Waits until the pane shows a message with `text` from `role`. */
async function sees(pane, role, text) {
  await shows(pane.locator(`.msg[data-role="${role}"]`, { hasText: text }));
}

async function say(pane, text) {
  await pane.locator('.composer .text').fill(text);
  await pane.locator('.composer button[type="submit"]').click();
}

async function happyPath(c) {
  await startChat(c);
  const phone = '13812345678';
  await step('buyer shares a phone number; the agent sees the prompt flag and the waiting count', async () => {
    await c.buyer.locator('.quick button', { hasText: '电话和地址' }).click();
    await sees(c.agent, 'buyer', phone);
    await shows(c.agent.locator('.msg[data-role="buyer"] .badge.prompt'));
    await shows(c.agent.locator('.waiting:not([data-count="0"])'));
  });
  await step('decision panel: not eligible, with the intent check failed', async () => {
    await shows(c.decision.locator('.decision[data-eligible="false"]'));
    await shows(c.decision.locator('li[data-check="intent"][data-passed="false"]'));
  });
  await step('buyer sends the order card', async () => {
    await c.buyer.locator('button.send-card').click();
    await shows(c.buyer.locator('.msg.own[data-kind="order_card"]'));
    await shows(c.agent.locator('.msg[data-kind="order_card"]'));
  });
  await step('buyer complains: signed for but not received', async () => {
    await c.buyer.locator('.quick button', { hasText: '快递显示签收但我没收到' }).click();
    await sees(c.agent, 'buyer', '快递显示签收但我没收到');
  });
  await step('decision panel: eligible, every check passed with its reason', async () => {
    await shows(c.decision.locator('.decision[data-eligible="true"]'));
    const checks = c.decision.locator('.checks li');
    const passed = c.decision.locator('.checks li[data-passed="true"]');
    if ((await checks.count()) < 7 || (await passed.count()) !== (await checks.count())) {
      throw new Error(`expected every check passed, got ${await passed.count()} of ${await checks.count()}`);
    }
  });
  await step('decision panel keeps the earlier decision and why it failed', async () => {
    await shows(c.decision.locator('.earlier li[data-eligible="false"]', { hasText: 'intent' }));
  });
  await step('invite card appears for the buyer; the shop sees the invite went out', async () => {
    await shows(c.buyer.locator('.invite-card button.accept'));
    await shows(c.agent.locator('.invite-card', { hasText: 'Invite went out' }));
  });
  await step('buyer clicks Accept', async () => {
    await c.buyer.locator('.invite-card button.accept').click();
    await shows(c.buyer.locator('.invite-card[data-answer="accepted"]'));
  });
  await step('courier joins with the context card, phone number masked', async () => {
    const card = c.courier.locator('.context-card');
    await shows(card.locator('.masked', { hasText: '138****5678' }));
    const text = await card.innerText();
    if (text.includes(phone)) throw new Error(`the context card shows ${phone} unmasked`);
    await shows(c.buyer.locator('.line-joined', { hasText: 'demo-courier' }));
    await shows(c.agent.locator('.line-joined', { hasText: 'courier' }));
  });
  await step('screenshot of the three-party session saved', async () => {
    await c.page.screenshot({ path: SCREENSHOT.replace(/\.png$/, '-joined.png') });
  });
  await step('a message from each of the three reaches the other two', async () => {
    await say(c.courier, '您好，我是中通客服，我来查一下');
    await sees(c.buyer, 'courier', '我是中通客服');
    await sees(c.agent, 'courier', '我是中通客服');
    await say(c.agent, '麻烦中通核实一下');
    await sees(c.buyer, 'agent', '麻烦中通核实');
    await sees(c.courier, 'agent', '麻烦中通核实');
    await say(c.buyer, '好的，谢谢你们');
    await sees(c.agent, 'buyer', '好的，谢谢你们');
    await sees(c.courier, 'buyer', '好的，谢谢你们');
    await shows(c.agent.locator('.msg[data-role="buyer"]', { hasText: '好的，谢谢你们' }).locator('.badge.no-prompt'));
  });
  await step('agent sends 6 in a row without refusal in the three-party session', async () => {
    await c.agent.locator('button.burst').click();
    await shows(c.agent.locator('.line-burst[data-stored="6"][data-refused="0"]'));
  });
  await step('page reload with the courier in the session: its context card is back, once', async () => {
    await c.page.reload();
    for (const pane of [c.buyer, c.agent, c.courier]) await shows(pane.locator('.conn[data-state="open"]'));
    const card = c.courier.locator('.context-card');
    await shows(card.locator('.masked', { hasText: '138****5678' }));
    await sees(c.courier, 'buyer', '好的，谢谢你们');
    const cards = await card.count();
    if (cards !== 1) throw new Error(`the courier pane shows ${cards} context cards after the reload`);
  });
  await step('courier leaves; buyer and agent see it', async () => {
    await c.courier.locator('button.leave').click();
    await shows(c.buyer.locator('.line-left', { hasText: 'demo-courier' }));
    await shows(c.agent.locator('.line-left', { hasText: 'courier' }));
  });
  await step('logistics evaluation card appears for the buyer', async () => {
    await shows(c.buyer.locator('.evaluation-card .star[data-score="5"]'));
  });
  await step('buyer clicks 5 stars; evaluated', async () => {
    await c.buyer.locator('.evaluation-card .star[data-score="5"]').click();
    await shows(c.buyer.locator('.evaluation-card[data-rated="5"]'));
  });
  await step(`screenshot saved to ${SCREENSHOT}`, async () => {
    await c.page.screenshot({ path: SCREENSHOT });
  });
}

/** The seqs a pane shows for its current session, in page order. */
function shownSeqs(pane) {
  return pane.locator('.session:not([hidden]) .msg').evaluateAll(
    (nodes) => nodes.map((node) => Number(node.dataset.seq)));
}

async function ordinarySession(c) {
  await startChat(c);
  await step('buyer writes in an ordinary session', async () => {
    await say(c.buyer, '你好，请问什么时候发货');
    await sees(c.agent, 'buyer', '什么时候发货');
  });
  await step('buyer connection drops; the pane shows it is reconnecting', async () => {
    await c.buyer.locator('button.drop').click();
    await shows(c.buyer.locator('.conn[data-state="reconnecting"]'));
  });
  await step('the sixth shop message in a row is refused with consecutive_limit', async () => {
    await c.agent.locator('button.burst').click();
    await shows(c.agent.locator('.line-burst[data-stored="5"][data-refused="1"]'));
    await shows(c.agent.locator('.line-error[data-code="consecutive_limit"]'));
  });
  await step('buyer reconnects and resumes: every message once, in seq order, no gap', async () => {
    await shows(c.buyer.locator('.conn[data-state="open"]'));
    await sees(c.buyer, 'agent', '连续消息 5/6');
    const seqs = await shownSeqs(c.buyer);
    const expected = seqs.map((_, index) => index + 1);
    if (seqs.length !== 6 || seqs.join() !== expected.join()) {
      throw new Error(`buyer shows seqs [${seqs}], expected [1..6]`);
    }
    if ((await c.buyer.locator('.msg', { hasText: '连续消息 6/6' }).count()) > 0) {
      throw new Error('the refused sixth message reached the buyer');
    }
  });
  await step('page reload: the same users reconnect and resume the whole session', async () => {
    await c.page.reload();
    for (const pane of [c.buyer, c.agent, c.courier]) await shows(pane.locator('.conn[data-state="open"]'));
    await sees(c.buyer, 'agent', '连续消息 5/6');
    const seqs = await shownSeqs(c.buyer);
    if (seqs.join() !== '1,2,3,4,5,6') throw new Error(`buyer shows seqs [${seqs}] after the reload`);
    await sees(c.agent, 'buyer', '什么时候发货');
  });
}

async function walk(browser, name, body) {
  console.log(`-- ${name}`);
  const c = await openConsole(browser);
  try {
    await body(c);
    await step(`${name}: no errors in the page`, async () => {
      if (c.problems.length) throw new Error(c.problems.join('; '));
    });
  } catch (error) {
    if (!(error instanceof StepFailed)) {
      results.push({ name: `${name}: ${error.message}`, passed: false });
      console.log(`FAIL ${name}: ${error.message}`);
    }
    const failure = SCREENSHOT.replace(/\.png$/, `-failed-${name.replace(/\W+/g, '-')}.png`);
    await c.page.screenshot({ path: failure }).catch(() => {});
    console.log(`     page problems: ${c.problems.join('; ') || 'none'}; screenshot ${failure}`);
  } finally {
    await c.context.close();
  }
}

async function main() {
  const started = Date.now();
  mkdirSync(dirname(SCREENSHOT), { recursive: true });
  const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS });
  try {
    await walk(browser, 'happy path', happyPath);
    await walk(browser, 'ordinary session', ordinarySession);
  } finally {
    await browser.close();
  }
  const passed = results.filter((r) => r.passed).length;
  const failed = results.length - passed;
  for (const result of results.filter((r) => !r.passed)) console.log(`missing step: ${result.name}`);
  console.log(`(${((Date.now() - started) / 1000).toFixed(1)} s)`);
  console.log(`console: ${passed} passed, ${failed} failed`);
  process.exitCode = failed === 0 && passed > 0 ? 0 : 1;
}

main().catch((error) => {
  console.log(`browser test could not run: ${error.message}`);
  console.log('console: 0 passed, 1 failed');
  process.exitCode = 1;
});
