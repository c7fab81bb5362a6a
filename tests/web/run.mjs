// run.mjs -- the end-to-end browser tests of imxd's web front (issue 14).
//
//   node tests/web/run.mjs IMXD SRCDIR [--shots-default DIR] [NAME...]
//   node tests/web/run.mjs IMXD SRCDIR --update-readme-shots
//
// Starts a real imxd (IMXD) on loopback with --http on a free port and a
// temporary ledger for every test, drives Debian's Chromium through
// puppeteer-core, and prints one "ok   NAME" or "FAIL NAME" line per test and
// the closing line "N passed, N failed" (as tests/lib.sh does). NAMEs (or
// env IMX_WEB_ONLY, comma separated) run only the tests whose name contains
// one of them.
//
// Environment:
//   IMX_WEB_SHOTS    where the screenshots go (default: --shots-default, which
//                    CTest sets to <build>/web-shots, else SRCDIR/build/web-shots)
//   IMX_CHROMIUM     the browser (default /usr/bin/chromium)
//   IMX_WEB_ROOT     imxd serves the pages from this folder (--http-root)
//                    instead of those compiled in: for working on the pages
//   IMX_REQUIRE_TOOLS=1  a missing browser or puppeteer-core fails the run
//                    instead of skipping it (exit 77, as test_export)
//   IMX_WEB_TIMEOUT  seconds for the whole run (default 300); every test has
//                    its own limit too, and every wait inside is bounded
//
// --update-readme-shots runs only the tests that take the README's two
// pictures and copies them into SRCDIR/docs/img/ (web-service.png,
// web-finance.png) when they pass.
//
// Every process it starts (imxd, Chromium, the other-origin page's server
// lives in this process) is stopped by its pid on the way out: after the
// last test, on a failure, on the whole run's time-out and on SIGINT/SIGTERM.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const argv = process.argv.slice(2);
const opt = (name) => {
  const i = argv.indexOf(name);
  if (i < 0) return null;
  const v = argv[i + 1];
  argv.splice(i, 2);
  return v;
};
const flag = (name) => {
  const i = argv.indexOf(name);
  if (i >= 0) argv.splice(i, 1);
  return i >= 0;
};
const shotsDefault = opt('--shots-default');
const updateReadme = flag('--update-readme-shots');
const [imxdArg, srcArg, ...only] = argv;
if (!imxdArg || !srcArg) {
  console.error('usage: node run.mjs IMXD SRCDIR [--shots-default DIR] [--update-readme-shots] [NAME...]');
  process.exit(2);
}
const imxd = path.resolve(imxdArg);
const src = path.resolve(srcArg);
const chromium = process.env.IMX_CHROMIUM || '/usr/bin/chromium';
const shots = path.resolve(src, process.env.IMX_WEB_SHOTS || shotsDefault || 'build/web-shots');
const require_tools = process.env.IMX_REQUIRE_TOOLS === '1';
const webRoot = process.env.IMX_WEB_ROOT ? ['--http-root', path.resolve(process.env.IMX_WEB_ROOT)] : [];
// The README's two pictures: the tests that take them, and under what name
// each goes into docs/img/.
const readmeShots = { 'service.png': 'web-service.png', 'finance.png': 'web-finance.png' };
const readmeTests = ['an offer and a bid in two browsers', 'finance:'];
let filter = only.length ? only : (process.env.IMX_WEB_ONLY || '').split(',').filter(Boolean);
if (updateReadme) filter = readmeTests;
const runSeconds = Number(process.env.IMX_WEB_TIMEOUT || 300);

function skipOrFail(why) {
  console.log(require_tools ? `FAIL test_web: ${why}` : `SKIP test_web: ${why}`);
  process.exit(require_tools ? 1 : 77);
}

if (!fs.existsSync(chromium)) skipOrFail(`no browser at ${chromium} (apt-get install chromium)`);
let puppeteer;
try {
  puppeteer = (await import('puppeteer-core')).default;
} catch (e) {
  skipOrFail(`puppeteer-core is not installed (cd tests/web && npm ci --ignore-scripts): ${e.message}`);
}

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'imx-web-'));
fs.mkdirSync(shots, { recursive: true });

// ---------------------------------------------------------------- cleanup
const children = new Set(); // ChildProcess objects we spawned (imxd)
const closers = new Set(); // async functions: browser, other servers
let browser = null;
let browserPid = 0;

function killPid(pid, signal) {
  try {
    process.kill(pid, signal);
    return true;
  } catch {
    return false;
  }
}

// SIGTERM, and SIGKILL after ms; resolves to how it ended ({ code, signal }).
async function stopChild(child, ms = 5000) {
  const ended = () => ({ code: child.exitCode, signal: child.signalCode });
  if (child.exitCode !== null || child.signalCode !== null) return ended();
  const gone = new Promise((resolve) => child.once('exit', resolve));
  killPid(child.pid, 'SIGTERM');
  const t = setTimeout(() => killPid(child.pid, 'SIGKILL'), ms);
  await Promise.race([gone, sleep(ms + 2000)]);
  clearTimeout(t);
  return ended();
}

async function stopBrowser() {
  if (!browser) return;
  const b = browser;
  browser = null;
  await Promise.race([b.close().catch(() => {}), sleep(5000)]);
  // Chromium runs in a process group of its own (puppeteer starts it
  // detached): what is left of it goes by the group of the pid we started.
  if (browserPid && killPid(browserPid, 0)) {
    killPid(-browserPid, 'SIGKILL');
    killPid(browserPid, 'SIGKILL');
  }
}

let cleaned = false;
async function cleanup() {
  if (cleaned) return;
  cleaned = true;
  for (const c of [...closers]) await Promise.race([c().catch(() => {}), sleep(3000)]);
  await stopBrowser();
  for (const c of [...children]) await stopChild(c);
  fs.rmSync(tmp, { recursive: true, force: true });
}

function hardExit(code, why) {
  if (why) console.log(why);
  // Synchronous last resort: nothing may outlive the run.
  for (const c of children) killPid(c.pid, 'SIGKILL');
  if (browserPid) {
    killPid(-browserPid, 'SIGKILL');
    killPid(browserPid, 'SIGKILL');
  }
  fs.rmSync(tmp, { recursive: true, force: true });
  process.exit(code);
}

for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.on(sig, () => {
    cleanup().finally(() => hardExit(1, `test_web: stopped by ${sig}`));
    setTimeout(() => hardExit(1), 8000).unref();
  });
}
process.on('exit', () => {
  if (!cleaned) {
    for (const c of children) killPid(c.pid, 'SIGKILL');
    if (browserPid) killPid(-browserPid, 'SIGKILL');
  }
});
const watchdog = setTimeout(() => {
  console.log(`FAIL test_web: the whole run took more than ${runSeconds} s`);
  cleanup().finally(() => hardExit(1));
  setTimeout(() => hardExit(1), 10000).unref();
}, runSeconds * 1000);
watchdog.unref();

function sleep(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

// ------------------------------------------------------------------ imxd
let daemons = 0;
// Starts imxd on free loopback ports with a fresh ledger; resolves to
// { url, origin, port, pid, log() , stop() } once its log says `web on URL`.
async function startImxd({ market = path.join(src, 'examples/market.json'), args = [] } = {}) {
  const n = ++daemons;
  const logFile = path.join(tmp, `imxd${n}.log`);
  const log = fs.openSync(logFile, 'a');
  const child = spawn(imxd, ['--market', market, '--db', path.join(tmp, `imxd${n}.db`),
    '--listen', 'tcp://127.0.0.1:0', '--publish', 'tcp://127.0.0.1:0',
    '--http', 'http://127.0.0.1:0', ...webRoot, ...args], { stdio: ['ignore', log, log] });
  fs.closeSync(log);
  children.add(child);
  child.once('exit', () => children.delete(child));
  const readLog = () => fs.readFileSync(logFile, 'utf8');
  const deadline = Date.now() + 20000; // a loaded machine, under ASan
  let m = null;
  while (Date.now() < deadline) {
    m = readLog().match(/web on (https?:\/\/[^\s,]+)/);
    if (m || child.exitCode !== null || child.signalCode !== null) break;
    await sleep(50);
  }
  if (!m) {
    await stopChild(child);
    throw new Error(`imxd did not say "web on URL" within 20 s:\n${readLog()}`);
  }
  const url = m[1].replace(/\/$/, '');
  const u = new URL(url);
  const d = { url, origin: u.origin, port: Number(u.port), pid: child.pid, log: readLog,
    ended: null, stop: async () => { d.ended = await stopChild(child); } };
  return d;
}

// ----------------------------------------------------------------- browser
async function startBrowser() {
  browser = await puppeteer.launch({
    executablePath: chromium,
    headless: true,
    // CI runs as root: Chromium's sandbox needs a user namespace it may not have.
    args: ['--no-sandbox', '--headless=new', '--disable-gpu', '--disable-dev-shm-usage',
      '--no-first-run', '--no-default-browser-check', '--lang=en-US',
      '--font-render-hinting=none', '--hide-scrollbars'],
    userDataDir: path.join(tmp, 'chromium-profile'),
    protocolTimeout: 30000,
    timeout: 30000,
  });
  browserPid = browser.process()?.pid || 0;
}

// ------------------------------------------------------------------ runner
const files = ['session.mjs', 'trade.mjs', 'tender.mjs', 'finance.mjs', 'security.mjs',
  'locale.mjs', 'admin.mjs'];
const tests = [];
for (const f of files) {
  const mod = await import(path.join(here, f));
  for (const t of mod.tests) tests.push({ ...t, file: f });
}
const chosen = tests.filter((t) => !filter.length || filter.some((s) => t.name.includes(s)));

const { makeContext } = await import(path.join(here, 'lib.mjs'));

let passed = 0;
let failed = 0;
try {
  await startBrowser();
} catch (e) {
  await cleanup();
  hardExit(1, `FAIL test_web: Chromium did not start: ${e.message}\n0 passed, 1 failed`);
}
console.log(`# chromium ${await browser.version()}, node ${process.version}, screenshots in ${shots}`);

for (const t of chosen) {
  const started = Date.now();
  const ctx = makeContext({ browser, startImxd, shots, tmp, src, closers, name: t.name });
  let err = null;
  let timer;
  try {
    await Promise.race([
      t.fn(ctx),
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error(`took more than ${t.timeout || 90} s`)),
          (t.timeout || 90) * 1000);
      }),
    ]);
  } catch (e) {
    err = e;
  } finally {
    clearTimeout(timer);
  }
  if (err) await ctx.failureShots().catch(() => {});
  await ctx.close().catch(() => {});
  // imxd stops cleanly on SIGTERM (exit 0): anything else is a failure,
  // a sanitizer's report under ASan among them.
  for (const d of ctx.daemons) {
    if (!err && d.ended && d.ended.code !== 0)
      err = new Error(`imxd exited with ${JSON.stringify(d.ended)} when stopped`);
  }
  const secs = ((Date.now() - started) / 1000).toFixed(1);
  if (err) {
    failed++;
    console.log(`FAIL ${t.name} (${secs} s)`);
    console.log(String(err.stack || err).split('\n').map((l) => `  | ${l}`).join('\n'));
    for (const d of ctx.daemons) {
      const tail = d.log().split('\n').slice(-15).join('\n');
      console.log(`  imxd log (last lines):\n${tail.replace(/^/gm, '  | ')}`);
    }
    for (const line of ctx.consoleErrors.slice(0, 10)) console.log(`  console: ${line}`);
  } else {
    passed++;
    console.log(`ok   ${t.name} (${secs} s)`);
  }
}

await cleanup();
clearTimeout(watchdog);
if (updateReadme && failed === 0) {
  const img = path.join(src, 'docs/img');
  fs.mkdirSync(img, { recursive: true });
  for (const [from, to] of Object.entries(readmeShots)) {
    fs.copyFileSync(path.join(shots, from), path.join(img, to));
    console.log(`# ${path.join(shots, from)} -> docs/img/${to}`);
  }
}
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed === 0 && chosen.length > 0 ? 0 : 1);
