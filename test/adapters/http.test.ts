import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { createTokenCache, createVendorFetch, parsedBody, retryAfterMs } from '../../src/adapters/http.js';
import { isVendorError } from '../../src/errors.js';

/** A fetch that answers from a list, recording each request. */
function scripted(answers: (() => Response | Promise<Response>)[]) {
  const seen: Request[] = [];
  const f = async (req: Request) => {
    seen.push(req);
    const a = answers.shift();
    if (!a) throw new Error('no more answers');
    return a();
  };
  return { fetch: f as unknown as typeof fetch, seen };
}

const fast = { vendor: 'test', perSecond: 1000, backoffMs: [1, 5] as const, random: () => 1 };

describe('vendor fetch', () => {
  test('reads Retry-After as seconds or as a date', () => {
    const now = Date.parse('2026-11-22T12:00:00Z');
    assert.equal(retryAfterMs('2', now), 2000);
    assert.equal(retryAfterMs('Sun, 22 Nov 2026 12:00:05 GMT', now), 5000);
    assert.equal(retryAfterMs('2026-11-22T12:00:03Z', now), 3000);
    assert.equal(retryAfterMs('soon', now), undefined);
    assert.equal(retryAfterMs(null, now), undefined);
  });

  test('retries 429 after Retry-After and 5xx with backoff, then succeeds', async () => {
    const s = scripted([
      () => new Response('', { status: 429, headers: { 'retry-after': '0' } }),
      () => new Response('', { status: 503 }),
      () => new Response('{"ok":true}', { status: 200 }),
    ]);
    const retries: string[] = [];
    const f = createVendorFetch({
      ...fast,
      fetch: s.fetch,
      events: { retry: (i) => retries.push(i.reason) },
    });
    const res = await f('https://vendor.test/x');
    assert.equal(res.status, 200);
    assert.deepEqual(retries, ['429', 'HTTP 503']);
  });

  test('gives up after the allowed retries with a typed error naming the vendor', async () => {
    const s = scripted(Array.from({ length: 3 }, () => () => new Response('', { status: 500 })));
    const f = createVendorFetch({ ...fast, fetch: s.fetch, retries: 2 });
    await assert.rejects(f('https://vendor.test/users'), (e: unknown) => {
      assert.ok(isVendorError(e));
      assert.equal(e.failure, 'server');
      assert.match(e.message, /^test \/users: HTTP 500/);
      return true;
    });
    assert.equal(s.seen.length, 3);
  });

  test('refuses to wait out a Retry-After beyond the limit (a daily quota)', async () => {
    const s = scripted([() => new Response('', { status: 429, headers: { 'retry-after': '86400' } })]);
    const f = createVendorFetch({ ...fast, fetch: s.fetch });
    await assert.rejects(f('https://vendor.test/x'), /asks to wait 86400 s/);
  });

  test('renews the token once on an expired-token answer, and signs every attempt', async () => {
    const s = scripted([() => new Response('', { status: 401 }), () => new Response('{}', { status: 200 })]);
    let token = 'old';
    const f = createVendorFetch(
      { ...fast, fetch: s.fetch },
      {
        prepare: (r) => {
          r.headers.set('authorization', `Bearer ${token}`);
        },
        classify: (r) => (r.status === 401 ? 'auth-expired' : 'ok'),
        renewAuth: () => {
          token = 'new';
        },
      },
    );
    assert.equal((await f('https://vendor.test/x')).status, 200);
    assert.deepEqual(
      s.seen.map((r) => r.headers.get('authorization')),
      ['Bearer old', 'Bearer new'],
    );
  });

  test('times out a request that hangs, and stops at once when cancelled', async () => {
    // Like a real request, a pending one keeps the process alive (AbortSignal.timeout alone does not).
    const hang = (req: Request) =>
      new Promise<Response>((_, reject) => {
        if (req.signal.aborted) return reject(req.signal.reason);
        const keepAlive = setTimeout(() => {}, 10_000);
        req.signal.addEventListener('abort', () => {
          clearTimeout(keepAlive);
          reject(req.signal.reason);
        });
      });
    const f = createVendorFetch({
      ...fast,
      fetch: hang as unknown as typeof fetch,
      timeoutMs: 20,
      retries: 1,
    });
    await assert.rejects(
      f('https://vendor.test/x'),
      (e: unknown) => isVendorError(e) && e.failure === 'timeout',
    );
    const ac = new AbortController();
    const g = createVendorFetch({ ...fast, fetch: hang as unknown as typeof fetch, signal: ac.signal });
    const p = g('https://vendor.test/x');
    ac.abort();
    await assert.rejects(p, (e: unknown) => isVendorError(e) && e.failure === 'aborted');
  });

  test('an answer parsed while classifying it is handed on parsed, so the adapter does not parse it again', async () => {
    const s = scripted([() => new Response('{"success":true,"t":1}'), () => new Response('{"a":1}')]);
    const f = createVendorFetch(
      { ...fast, fetch: s.fetch },
      { classify: (a) => ((a.json() as { success?: boolean }).success === false ? 'retry' : 'ok') },
    );
    const res = await f('https://vendor.test/x');
    assert.deepEqual(parsedBody(res), { success: true, t: 1 });
    assert.equal(await res.text(), '{"success":true,"t":1}', 'the body is still readable');
    const plain = await createVendorFetch({ ...fast, fetch: s.fetch })('https://vendor.test/y');
    assert.equal(parsedBody(plain), undefined, 'nothing parsed when no one asked');
  });

  test('spaces requests to the client-side budget', async () => {
    const s = scripted(Array.from({ length: 6 }, () => () => new Response('{}')));
    const f = createVendorFetch({ vendor: 'test', perSecond: 50, burst: 1, fetch: s.fetch });
    const t0 = performance.now();
    await Promise.all(Array.from({ length: 6 }, () => f('https://vendor.test/x')));
    assert.ok(performance.now() - t0 >= 90, 'six requests at 50/s with no burst take at least 100 ms');
  });
});

describe('token cache', () => {
  test('concurrent callers share one token request, and invalidate() forces a new one', async () => {
    let calls = 0;
    const cache = createTokenCache({
      fetchToken: async () => {
        calls++;
        await new Promise((r) => setTimeout(r, 5));
        return { value: `t${calls}`, expiresAt: Date.now() + 3_600_000 };
      },
    });
    const got = await Promise.all([cache.get(), cache.get(), cache.get()]);
    assert.deepEqual(got, ['t1', 't1', 't1']);
    cache.invalidate();
    assert.equal(await cache.get(), 't2');
  });

  test('renews before expiry', async () => {
    let now = 0;
    let n = 0;
    const cache = createTokenCache({
      now: () => now,
      earlyMs: 60_000,
      fetchToken: async () => ({ value: ++n, expiresAt: now + 3_600_000 }),
    });
    assert.equal(await cache.get(), 1);
    now = 3_600_000 - 60_001;
    assert.equal(await cache.get(), 1);
    now = 3_600_000 - 59_999;
    assert.equal(await cache.get(), 2);
  });
});
