import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  createTokenCache,
  createVendorFetch,
  parsedBody,
  retryAfterMs,
  virtualTimers,
} from '../../src/adapters/http.js';
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

  test('retries 429 after exactly its Retry-After and 5xx after a jittered backoff, then succeeds', async () => {
    const s = scripted([
      () => new Response('', { status: 429, headers: { 'retry-after': '7' } }),
      () => new Response('', { status: 503 }),
      () => new Response('', { status: 502 }),
      () => new Response('{"ok":true}', { status: 200 }),
    ]);
    const retries: [string, number][] = [];
    const timers = virtualTimers();
    const jitter = [0.5, 0.25];
    const f = createVendorFetch({
      vendor: 'test',
      perSecond: 1000,
      fetch: s.fetch,
      timers,
      random: () => jitter.shift() ?? 1,
      events: { retry: (i) => retries.push([i.reason, i.waitMs]) },
    });
    const res = await f('https://vendor.test/x');
    assert.equal(res.status, 200);
    // Backoff is full jitter over min(20 s, 500 ms × 2^attempt): attempt 1 → 0.5 × 1000, attempt 2 → 0.25 × 2000.
    assert.deepEqual(retries, [
      ['429', 7000],
      ['HTTP 503', 500],
      ['HTTP 502', 500],
    ]);
    assert.deepEqual(timers.waits, [7000, 500, 500], 'each wait was slept, on the injected clock');
  });

  test('reads a Retry-After date against the injected clock', async () => {
    const start = Date.parse('2026-11-22T12:00:00Z');
    const s = scripted([
      () => new Response('', { status: 429, headers: { 'retry-after': 'Sun, 22 Nov 2026 12:00:42 GMT' } }),
      () => new Response('{}'),
    ]);
    const timers = virtualTimers({ start });
    const f = createVendorFetch({ ...fast, fetch: s.fetch, timers });
    assert.equal((await f('https://vendor.test/x')).status, 200);
    assert.deepEqual(timers.waits, [42_000]);
  });

  test('backoff waits stay under the cap however many retries there are', async () => {
    const s = scripted(Array.from({ length: 9 }, () => () => new Response('', { status: 500 })));
    const timers = virtualTimers();
    const f = createVendorFetch({
      vendor: 'test',
      perSecond: 1000,
      fetch: s.fetch,
      timers,
      retries: 8,
      random: () => 0.999999,
    });
    await assert.rejects(
      f('https://vendor.test/x'),
      (e: unknown) => isVendorError(e) && e.failure === 'server',
    );
    assert.equal(s.seen.length, 9);
    assert.deepEqual(
      timers.waits,
      [500, 1000, 2000, 4000, 8000, 16_000, 20_000, 20_000].map((cap) => Math.floor(0.999999 * cap)),
    );
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

  test('refuses to wait out a Retry-After beyond the limit, and sends nothing more until that time', async () => {
    const s = scripted([
      () => new Response('', { status: 429, headers: { 'retry-after': '86400' } }),
      () => new Response('{}'),
    ]);
    const timers = virtualTimers();
    const f = createVendorFetch({ ...fast, fetch: s.fetch, timers });
    await assert.rejects(
      f('https://vendor.test/x'),
      /HTTP 429 rate limited; the vendor asks to wait 86400 s/,
    );
    await assert.rejects(f('https://vendor.test/y'), (e: unknown) => {
      assert.ok(isVendorError(e));
      assert.equal(e.failure, 'rate-limited');
      assert.match(e.message, /^test \/y: not sent: rate limited; the vendor asks to wait 86400 s \(until /);
      return true;
    });
    assert.equal(s.seen.length, 1, 'the second call sent nothing');
    assert.deepEqual(timers.waits, [], 'and nothing was waited for');
    timers.advance(86_400_000);
    assert.equal((await f('https://vendor.test/z')).status, 200, 'once the time has come, calls go again');
  });

  test('a daily limit stops the vendor at once, even with a Retry-After short enough to wait', async () => {
    const s = scripted([
      () =>
        new Response('', {
          status: 429,
          headers: { 'retry-after': '30', 'x-ratelimit-type': 'Daily-limit' },
        }),
    ]);
    const f = createVendorFetch({ ...fast, fetch: s.fetch, timers: virtualTimers() });
    await assert.rejects(
      f('https://vendor.test/a'),
      /daily rate limit reached; the vendor asks to wait 30 s/,
    );
    await assert.rejects(f('https://vendor.test/b'), /not sent: daily rate limit reached/);
    assert.equal(s.seen.length, 1);
  });

  test('a daily limit without Retry-After stops the vendor for the rest of the run', async () => {
    const s = scripted([
      () => new Response('', { status: 429, headers: { 'x-ratelimit-type': 'Daily-limit' } }),
    ]);
    const timers = virtualTimers();
    const f = createVendorFetch({ ...fast, fetch: s.fetch, timers });
    await assert.rejects(f('https://vendor.test/a'), /: HTTP 429 daily rate limit reached$/);
    timers.advance(7 * 86_400_000);
    await assert.rejects(f('https://vendor.test/b'), /not sent: daily rate limit reached$/);
    assert.equal(s.seen.length, 1);
  });

  test('a 429 without Retry-After waits at least one second, the window of a per-second limit', async () => {
    const s = scripted([
      () => new Response('', { status: 429 }),
      () => new Response('', { status: 429 }),
      () => new Response('', { status: 429 }),
      () => new Response('{}'),
    ]);
    const timers = virtualTimers();
    const f = createVendorFetch({
      vendor: 'test',
      perSecond: 1000,
      fetch: s.fetch,
      timers,
      random: () => 0.9,
    });
    assert.equal((await f('https://vendor.test/x')).status, 200);
    // Backoff alone would be 0.9 × 500, 0.9 × 1000, 0.9 × 2000.
    assert.deepEqual(timers.waits, [1000, 1000, 1800]);
  });

  test('an answer that corrects the request (a clock offset) is sent again at once, once, and is no retry', async () => {
    const s = scripted([
      () => new Response('{"code":1013}'),
      () => new Response('{"code":1013}'),
      () => new Response('{"ok":true}'),
    ]);
    const retries: string[] = [];
    const timers = virtualTimers();
    const f = createVendorFetch(
      { ...fast, fetch: s.fetch, timers, retries: 0, events: { retry: (i) => retries.push(i.reason) } },
      { classify: (a) => ((a.json() as { code?: number }).code === 1013 ? 'resend' : 'ok') },
    );
    const res = await f('https://vendor.test/x');
    assert.equal(await res.text(), '{"code":1013}', 'a second refusal is handed to the adapter to report');
    assert.equal(s.seen.length, 2);
    assert.deepEqual([retries, timers.waits], [[], []]);
  });

  test('a request refused with a token another request already renewed keeps the new token', async () => {
    let issued = 0;
    const tokens = createTokenCache({
      now: () => 0,
      fetchToken: async () => ({ value: `T${++issued}`, expiresAt: 3_600_000 }),
    });
    // Two requests go out with T1; the second one's refusal arrives only after the first has renewed.
    let releaseSecond = () => {};
    const secondHeld = new Promise<void>((r) => {
      releaseSecond = r;
    });
    let n = 0;
    const sent: string[] = [];
    const f = createVendorFetch(
      {
        ...fast,
        timers: virtualTimers(),
        fetch: (async (req: Request) => {
          const auth = req.headers.get('authorization') ?? '';
          sent.push(auth);
          const mine = ++n;
          if (auth === 'Bearer T1') {
            if (mine === 2) await secondHeld;
            return new Response('', { status: 401 });
          }
          releaseSecond();
          return new Response('{}');
        }) as unknown as typeof fetch,
      },
      {
        prepare: async (r) => {
          r.headers.set('authorization', `Bearer ${await tokens.get()}`);
        },
        classify: (a) => (a.status === 401 ? 'auth-expired' : 'ok'),
        renewAuth: (r) => tokens.invalidate((t) => r.headers.get('authorization') === `Bearer ${t}`),
      },
    );
    await Promise.all([f('https://vendor.test/a'), f('https://vendor.test/b')]);
    assert.equal(issued, 2, 'one renewal for both refusals');
    assert.deepEqual(sent, ['Bearer T1', 'Bearer T1', 'Bearer T2', 'Bearer T2']);
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

  test('times out a request that hangs after the default 30 s, and stops at once when cancelled', async () => {
    // Like a real request, a pending one keeps the process alive (AbortSignal.timeout alone does not).
    const hang = (req: Request) =>
      new Promise<Response>((_, reject) => {
        if (req.signal.aborted) return reject(req.signal.reason);
        const keepAlive = setInterval(() => {}, 60_000);
        req.signal.addEventListener('abort', () => {
          clearInterval(keepAlive);
          reject(req.signal.reason);
        });
      });
    // The injected timeout fires on the next turn of the event loop, whatever it was armed for.
    const armed: number[] = [];
    const timers = virtualTimers({
      timeout: (ms, fire) => {
        armed.push(ms);
        const t = setImmediate(fire);
        return () => clearImmediate(t);
      },
    });
    const f = createVendorFetch({ ...fast, fetch: hang as unknown as typeof fetch, retries: 1, timers });
    await assert.rejects(f('https://vendor.test/x'), (e: unknown) => {
      assert.ok(isVendorError(e));
      assert.equal(e.failure, 'timeout');
      assert.match(e.message, /no answer within 30000 ms/);
      return true;
    });
    assert.deepEqual(armed, [30_000, 30_000], 'one timeout per attempt, 30 s by default');
    const ac = new AbortController();
    const g = createVendorFetch({
      ...fast,
      fetch: hang as unknown as typeof fetch,
      signal: ac.signal,
      timers,
    });
    const p = g('https://vendor.test/x');
    ac.abort();
    await assert.rejects(p, (e: unknown) => isVendorError(e) && e.failure === 'aborted');
  });

  test('a cancelled wait rejects at once as aborted, with no further request', async () => {
    const s = scripted([() => new Response('', { status: 503 }), () => new Response('{}')]);
    const ac = new AbortController();
    const timers = virtualTimers();
    const f = createVendorFetch({
      ...fast,
      fetch: s.fetch,
      signal: ac.signal,
      timers,
      events: { retry: () => ac.abort(new Error('stop')) },
    });
    await assert.rejects(
      f('https://vendor.test/x'),
      (e: unknown) => isVendorError(e) && e.failure === 'aborted',
    );
    assert.equal(s.seen.length, 1);
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

  test('spaces requests to the client-side budget, after the burst', async () => {
    const timers = virtualTimers({ start: 0 });
    const sentAt: number[] = [];
    const f = createVendorFetch({
      vendor: 'test',
      perSecond: 50,
      burst: 3,
      timers,
      fetch: (async () => {
        sentAt.push(timers.now());
        return new Response('{}');
      }) as unknown as typeof fetch,
    });
    await Promise.all(Array.from({ length: 7 }, () => f('https://vendor.test/x')));
    // Three go at once (the burst), then one every 1/50 s.
    assert.deepEqual(
      sentAt.map((t) => Math.round(t)),
      [0, 0, 0, 20, 40, 60, 80],
    );
    assert.equal(timers.waits.length, 4);
    for (const w of timers.waits) assert.ok(Math.abs(w - 20) < 1e-6, `waited ${w} ms`);
  });

  test('the budget refills with time that passed between requests', async () => {
    const timers = virtualTimers({ start: 0 });
    const s = scripted(Array.from({ length: 4 }, () => () => new Response('{}')));
    const f = createVendorFetch({ vendor: 'test', perSecond: 10, burst: 2, fetch: s.fetch, timers });
    await f('https://vendor.test/a');
    await f('https://vendor.test/b');
    timers.advance(200); // two tokens' worth
    await f('https://vendor.test/c');
    await f('https://vendor.test/d');
    assert.deepEqual(timers.waits, [], 'no wait: the burst, then the refill');
  });
});

describe('token cache', () => {
  test('concurrent callers share one token request, and invalidate() forces a new one', async () => {
    let calls = 0;
    let answer = () => {};
    const answered = new Promise<void>((r) => {
      answer = r;
    });
    const cache = createTokenCache({
      now: () => 0,
      fetchToken: async () => {
        calls++;
        await answered;
        return { value: `t${calls}`, expiresAt: 3_600_000 };
      },
    });
    const pending = Promise.all([cache.get(), cache.get(), cache.get()]);
    answer(); // the token endpoint answers only once all three are waiting
    const got = await pending;
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

test('the rate limiter always waits a whole millisecond or more, so a virtual clock at epoch scale keeps refilling', async () => {
  const { createRateLimiter, virtualTimers } = await import('../../src/adapters/http.js');
  const timers = virtualTimers({ start: 1_764_000_000_000 });
  // 3 per second with a fractional refill: without the floor, a wait of ~1e-13 ms would not move
  // the clock (1.7e12 + 1e-13 === 1.7e12) and take() would loop for ever.
  const limiter = createRateLimiter(3, 1, timers);
  for (let i = 0; i < 50; i++) await limiter.take();
  assert.ok(timers.waits.length >= 49);
  assert.ok(
    timers.waits.every((ms) => Number.isInteger(ms) && ms >= 1),
    JSON.stringify(timers.waits.slice(0, 5)),
  );
  assert.ok(timers.now() - 1_764_000_000_000 >= (49 / 3) * 1000 - 1);
});
