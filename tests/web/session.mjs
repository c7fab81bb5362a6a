// Signing in and out: the session cookie, and the token nowhere after it.
import { assert, T, goto, pageApi, request, signIn, waitText } from './lib.mjs';

const TOKEN = 'demo-CC-1100';

export const tests = [
  {
    name: 'sign in: an HttpOnly SameSite=Strict session cookie, the token gone from URL and page',
    async fn(t) {
      const server = await t.imxd();
      const page = await t.page();
      // No session: the pages send a person to the sign-in page.
      await goto(page, server, '#/market');
      await page.waitForSelector(T('signin-token'), { visible: true });
      assert.match(page.url(), /#\/signin/);
      assert.equal((await pageApi(page, 'session', null, 'GET')).status, 401);

      // A wrong token: 401, an error on the page, no cookie.
      const failed = page.waitForResponse((r) => r.url().endsWith('/api/signin'));
      await page.type(T('signin-token'), 'demo-CC-1100-wrong');
      await page.click(T('signin-submit'));
      assert.equal((await failed).status(), 401);
      await page.waitForSelector(T('signin-error'), { visible: true });
      assert.notEqual((await page.$eval(T('signin-error'), (e) => e.innerText)).trim(), '');
      assert.deepEqual((await page.cookies()).filter((c) => c.name === 'imx_session'), []);

      // The right one.
      const signin = page.waitForResponse((r) => r.url().endsWith('/api/signin'));
      await page.$eval(T('signin-token'), (e) => { e.value = ''; });
      await page.type(T('signin-token'), TOKEN);
      await page.click(T('signin-submit'));
      const res = await signin;
      assert.equal(res.status(), 200);
      assert.equal(res.request().method(), 'POST');
      assert.ok(!res.url().includes(TOKEN), 'the token is in the sign-in URL');
      await page.waitForSelector(T('signout'), { visible: true });
      await waitText(page, 'body', 'Sales North');

      const cookies = (await page.cookies()).filter((c) => c.name === 'imx_session');
      assert.equal(cookies.length, 1);
      const [c] = cookies;
      assert.match(c.value, /^[0-9a-f]{64}$/);
      assert.equal(c.httpOnly, true, 'session cookie not HttpOnly');
      assert.equal(c.sameSite, 'Strict', 'session cookie not SameSite=Strict');
      assert.equal(c.path, '/');
      assert.equal(c.secure, false); // plain http here; Secure under TLS
      const left = c.expires - Date.now() / 1000; // Max-Age=43200: 12 h
      assert.ok(left > 43200 - 120 && left <= 43200 + 5, `the cookie expires in ${left} s`);
      // HttpOnly: the page's script cannot read it.
      assert.ok(!(await page.evaluate(() => document.cookie)).includes('imx_session'));

      // The token is nowhere after sign-in: not in the URL, the history,
      // the document (the field included), the storage.
      const where = await page.evaluate((tok) => ({
        url: location.href,
        html: document.documentElement.outerHTML.includes(tok),
        inputs: [...document.querySelectorAll('input,textarea')].some((i) => i.value.includes(tok)),
        local: JSON.stringify({ ...localStorage }).includes(tok),
        session: JSON.stringify({ ...sessionStorage }).includes(tok),
        title: document.title.includes(tok),
      }), TOKEN);
      assert.ok(!where.url.includes(TOKEN), `token in the URL ${where.url}`);
      assert.deepEqual({ ...where, url: false },
        { url: false, html: false, inputs: false, local: false, session: false, title: false });
      assert.ok(!server.log().includes(TOKEN), 'the token is in imxd\'s log');

      // The session as the API reports it.
      const s = await pageApi(page, 'session', null, 'GET');
      assert.equal(s.status, 200);
      assert.equal(s.body.cc, 'CC-1100');
      assert.equal(s.body.name, 'Sales North');
      assert.deepEqual(s.body.roles, ['receiver']);
      assert.equal(s.body.currency, 'EUR');
      assert.equal(s.body.decimals, 2);
      assert.ok(!JSON.stringify(s.body).includes(TOKEN), 'the session echoes the token');
      // A reload keeps the session (the cookie), without typing the token again.
      await page.reload({ waitUntil: 'load' });
      await page.waitForSelector(T('signout'), { visible: true });
      await t.shot(page, 'signed-in.png');

      // Sign out: back to the sign-in page, the cookie gone in the browser
      // and the session gone in imxd (the old cookie is refused).
      const out = page.waitForResponse((r) => r.url().endsWith('/api/signout'));
      await page.click(T('signout'));
      assert.equal((await out).status(), 200);
      await page.waitForSelector(T('signin-token'), { visible: true });
      assert.deepEqual((await page.cookies()).filter((x) => x.name === 'imx_session'), []);
      assert.equal((await pageApi(page, 'session', null, 'GET')).status, 401);
      const old = await request(server, 'GET', '/api/session',
        { headers: { Cookie: `imx_session=${c.value}` } });
      assert.equal(old.status, 401, `the signed-out session still answers: ${old.text}`);
      const order = await request(server, 'POST', '/api/order.list',
        { body: {}, headers: { Cookie: `imx_session=${c.value}` } });
      assert.equal(order.status, 401);
      assert.equal(order.json.code, 'unauthorized');
      // And the back button does not bring the signed-in page back to life.
      await page.goBack().catch(() => {});
      await page.goto(`${server.url}/#/orders`, { waitUntil: 'load' });
      await page.waitForSelector(T('signin-token'), { visible: true });
    },
  },
];
