// Vonage Contact Center as the emulator plays it: client-credentials OAuth at /vonage/Auth/connect/token,
// the User Admin API under /vonage/useradmin with the mandatory v4 Accept header and page/limit paging.
import type { Answer, Ctx } from './server.js';

const ACCEPT = 'application/vnd.newvoicemedia.v4+json';

export async function vonageRoutes(ctx: Ctx): Promise<Answer> {
  const { path, req, url, state } = ctx;
  if (path === '/Auth/connect/token') return token(ctx);
  if (!path.startsWith('/useradmin/')) return { status: 404, body: { message: 'Not Found' } };
  const accept = req.headers.accept ?? '';
  const version = /application\/vnd\.newvoicemedia\.v(\d+)\+json/.exec(accept)?.[1];
  // The bodies of "Versioning (User Admin API)"; they carry the `message` the Responses page quotes.
  const badRequest = (message: string): Answer => ({
    status: 400,
    body: { statusCode: 400, error: 'Bad Request', message },
  });
  if (version === undefined) return badRequest('Version missing from Accept header!');
  if (version !== '4') return badRequest('Invalid api-version! Valid values: 4');
  const bearer = /^Bearer (.+)$/i.exec(req.headers.authorization ?? '')?.[1];
  if (!state.tokenValid('vonage', bearer))
    return { status: 401, body: { message: 'Authorization has been denied for this request.' } };
  const seg = path.slice('/useradmin/'.length).split('/').map(decodeURIComponent);
  const v = state.dataset.vonage;
  const json = (body: unknown): Answer => ({
    status: 200,
    body,
    headers: { 'content-type': `${ACCEPT}; charset=utf-8` },
  });
  if (req.method !== 'GET') return { status: 405, body: { message: 'Method Not Allowed' } };
  if (seg.length === 1 && seg[0] === 'users') {
    const p = paging(url, state.faults.vonageFirstPage);
    if ('status' in p) return p;
    const include = url.searchParams.get('include') ?? 'Active';
    const users = v.users.filter(
      (u) => include === 'All' || (include === 'Archived' ? u.active === false : u.active !== false),
    );
    return json(pageOf(users, p, 'users'));
  }
  if (seg.length === 2 && seg[0] === 'users') {
    const id = seg[1] ?? '';
    if (state.faults.failUsers.includes(id))
      return { status: 500, body: { message: 'An error has occurred.' } };
    const user = v.users.find((u) => u.userId === id);
    return user ? json(user) : { status: 404, body: { message: `User ${id} not found` } };
  }
  if (seg.length === 4 && seg[0] === 'users' && seg[2] === 'permissions') {
    const id = seg[1] ?? '';
    if (state.faults.failUsers.includes(id))
      return { status: 500, body: { message: 'An error has occurred.' } };
    if (!v.users.some((u) => u.userId === id))
      return { status: 404, body: { message: `User ${id} not found` } };
    const p = paging(url, state.faults.vonageFirstPage);
    if ('status' in p) return p;
    if (seg[3] === 'groups') return json(pageOf(v.groups.get(id) ?? [], p, 'groupPermissions', id));
    if (seg[3] === 'accessPermissions')
      return json(pageOf(v.access.get(id) ?? [], p, 'accessPermissions', id));
  }
  return { status: 404, body: { message: 'Not Found' } };
}

interface Paging {
  page: number;
  limit: number;
  first: 0 | 1;
}

function paging(url: URL, first: 0 | 1): Paging | Answer {
  const page = url.searchParams.has('page') ? Number(url.searchParams.get('page')) : first;
  const limit = url.searchParams.has('limit') ? Number(url.searchParams.get('limit')) : 25;
  if (!Number.isInteger(page) || page < first || page > 1_000_000_000)
    return { status: 400, body: { message: `The field page must be between ${first} and 1000000000.` } };
  if (!Number.isInteger(limit) || limit < 1 || limit > 5000)
    return { status: 400, body: { message: 'The field limit must be between 1 and 5000.' } };
  return { page, limit, first };
}

/** A page in the documented order: meta first, then the user's id (per-user lists), then the items. */
function pageOf(items: readonly unknown[], p: Paging, key: string, userId?: string) {
  const index = p.page - p.first;
  const pageCount = Math.max(1, Math.ceil(items.length / p.limit));
  const slice = items.slice(index * p.limit, (index + 1) * p.limit);
  return {
    meta: { page: p.page, count: slice.length, pageCount, totalCount: items.length },
    ...(userId !== undefined ? { userId } : {}),
    [key]: slice,
  };
}

function token(ctx: Ctx): Answer {
  const { req, state } = ctx;
  if (req.method !== 'POST') return { status: 405, body: { error: 'invalid_request' } };
  const form = new URLSearchParams(ctx.body);
  const basic = /^Basic (.+)$/i.exec(req.headers.authorization ?? '')?.[1];
  const [bid, bsecret] = basic ? Buffer.from(basic, 'base64').toString('utf8').split(':') : [];
  const id = bid ?? form.get('client_id');
  const secret = bsecret ?? form.get('client_secret');
  if (form.get('grant_type') !== 'client_credentials')
    return { status: 400, body: { error: 'unsupported_grant_type' } };
  if (id !== state.credentials.vonage.clientId || secret !== state.credentials.vonage.clientSecret)
    return { status: 400, body: { error: 'invalid_client' } };
  const scope = form.get('scope');
  if (!scope)
    return { status: 400, body: { error: 'invalid_scope', error_description: 'You must specify a scope' } };
  if (!scope.split(' ').every((s) => ['users:read', 'users:write', 'self:read'].includes(s)))
    return { status: 400, body: { error: 'invalid_scope' } };
  const { token: t, ttl } = state.newToken('vonage', 7200);
  return { status: 200, body: { access_token: t, token_type: 'bearer', expires_in: ttl } };
}
