// Zoom as the emulator plays it: S2S OAuth at /zoom/oauth/token, the API under /zoom/v2.
import type { Answer, Ctx } from './server.js';

const PAGE_MAX = 300;
const PAGE_DEFAULT = 30;

export async function zoomRoutes(ctx: Ctx): Promise<Answer> {
  const { path, req, url, state } = ctx;
  const method = req.method ?? 'GET';
  if (path === '/oauth/token') return token(ctx);
  if (!path.startsWith('/v2/')) return { status: 404, body: { code: 404, message: 'Not found' } };
  const bearer = /^Bearer (.+)$/i.exec(req.headers.authorization ?? '')?.[1];
  if (!state.tokenValid('zoom', bearer))
    return { status: 401, body: { code: 124, message: 'Invalid access token.' } };
  const seg = path.slice('/v2/'.length).split('/').map(decodeURIComponent);
  const z = state.dataset.zoom;
  const fail = (id: string): Answer | undefined =>
    state.faults.failUsers.includes(id)
      ? { status: 500, body: { code: 500, message: 'Internal error' } }
      : undefined;

  if (method === 'GET' && seg.length === 1 && seg[0] === 'users') {
    const status = url.searchParams.get('status') ?? 'active';
    const users = z.users.filter((u) => (u.status ?? 'active') === status);
    return page(url, users, 'users', { pageNumber: true });
  }
  // GET /users/{userId} and /users/{userId}/permissions: by id or email.
  const user =
    seg[0] === 'users' && seg.length > 1
      ? z.users.find((u) => u.id === seg[1] || u.email.toLowerCase() === seg[1]?.toLowerCase())
      : undefined;
  const noUser: Answer = { status: 404, body: { code: 1001, message: `User does not exist: ${seg[1]}` } };
  if (method === 'GET' && seg.length === 2 && seg[0] === 'users') {
    const failed = fail(seg[1] ?? '');
    if (failed) return failed;
    if (!user?.id) return noUser;
    const role = z.roles.find((r) => r.id === user.role_id);
    return {
      status: 200,
      body: { ...user, ...(role ? { role_name: role.name } : {}), status: user.status ?? 'active' },
    };
  }
  if (method === 'GET' && seg.length === 3 && seg[0] === 'users' && seg[2] === 'permissions') {
    const failed = fail(seg[1] ?? '');
    if (failed) return failed;
    if (!user?.id) return noUser;
    const role = z.roles.find((r) => r.id === user.role_id);
    const perms = new Set([...(role?.privileges ?? []), ...(z.extraPermissions.get(user.id) ?? [])]);
    return { status: 200, body: { permissions: [...perms] } };
  }
  if (method === 'GET' && seg.length === 1 && seg[0] === 'roles') {
    // Zoom: `type` picks the kind of role (common, iq, ...); without it, common roles only.
    const type = url.searchParams.get('type') ?? 'common';
    const roles = z.roles.filter((r) => (r.type ?? 'common') === type);
    return {
      status: 200,
      body: {
        total_records: roles.length,
        roles: roles.map((r) => ({
          id: r.id,
          name: r.name,
          description: r.description ?? '',
          total_members: r.members.length,
          type: r.type ?? 'common',
        })),
      },
    };
  }
  if (seg[0] === 'roles' && seg.length >= 2) {
    const id = seg[1] ?? '';
    const role = z.roles.find((r) => r.id === id);
    const failed = fail(id);
    if (failed) return failed;
    if (!role) return { status: 404, body: { code: 1018, message: 'Role does not exist.' } };
    if (seg.length === 2 && method === 'GET') {
      const { members, ...rest } = role;
      return {
        status: 200,
        body: {
          ...rest,
          description: role.description ?? '',
          type: role.type ?? 'common',
          total_members: members.length,
        },
      };
    }
    if (seg.length === 2 && method === 'PATCH') {
      if (state.faults.zoomPlan === 'free')
        return { status: 400, body: { code: 200, message: 'Only available for Paid account.' } };
      if (role.id === '0')
        return { status: 400, body: { code: 300, message: 'Owner role cannot be updated.' } };
      const notJson: Answer = {
        status: 400,
        body: { code: 300, message: 'Request Body should be a valid JSON object.' },
      };
      let parsed: unknown;
      try {
        parsed = JSON.parse(ctx.body);
      } catch {
        return notJson;
      }
      if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return notJson;
      const body = parsed as { privileges?: unknown; name?: unknown; description?: unknown };
      const invalid = (field: string, message: string): Answer => ({
        status: 400,
        body: { code: 300, message: 'Validation Failed.', errors: [{ field, message }] },
      });
      const { privileges, name, description } = body;
      if (
        privileges !== undefined &&
        (!Array.isArray(privileges) || privileges.some((p) => typeof p !== 'string'))
      )
        return invalid('privileges', 'must be an array of strings');
      if (name !== undefined && typeof name !== 'string') return invalid('name', 'must be a string');
      if (description !== undefined && typeof description !== 'string')
        return invalid('description', 'must be a string');
      // Checked in full first, so a rejected request changes nothing.
      if (privileges !== undefined) role.privileges = privileges as string[];
      if (name !== undefined) role.name = name;
      if (description !== undefined) role.description = description;
      return { status: 204 };
    }
    if (seg.length === 3 && seg[2] === 'members' && method === 'GET')
      return page(url, role.members, 'members');
  }
  return { status: 404, body: { code: 404, message: `No such API: ${method} ${path}` } };
}

/**
 * next_page_token paging: the token is opaque (an encoded offset); "" when there is no more. Like
 * Zoom, every page says how many pages there are; GET /users also numbers them (page_number).
 */
function page(url: URL, items: readonly unknown[], key: string, opts: { pageNumber?: boolean } = {}): Answer {
  const size = Math.min(
    PAGE_MAX,
    Math.max(1, Number(url.searchParams.get('page_size') ?? PAGE_DEFAULT) || PAGE_DEFAULT),
  );
  const token = url.searchParams.get('next_page_token') ?? '';
  let offset = 0;
  if (token !== '') {
    try {
      offset = JSON.parse(Buffer.from(token, 'base64url').toString('utf8')).o;
      if (!Number.isInteger(offset) || offset < 0) throw new Error('bad');
    } catch {
      return { status: 400, body: { code: 300, message: 'The next page token is invalid or expired.' } };
    }
  }
  const slice = items.slice(offset, offset + size);
  const more = offset + size < items.length;
  return {
    status: 200,
    body: {
      page_count: Math.ceil(items.length / size),
      ...(opts.pageNumber ? { page_number: Math.floor(offset / size) + 1 } : {}),
      page_size: size,
      total_records: items.length,
      next_page_token: more ? Buffer.from(JSON.stringify({ o: offset + size })).toString('base64url') : '',
      [key]: slice,
    },
  };
}

function token(ctx: Ctx): Answer {
  const { req, url, state } = ctx;
  if (req.method !== 'POST') return { status: 405, body: { code: 4700, message: 'Method not allowed' } };
  const params = new URLSearchParams(url.search);
  for (const [k, v] of new URLSearchParams(ctx.body)) params.set(k, v);
  const basic = /^Basic (.+)$/i.exec(req.headers.authorization ?? '')?.[1];
  const [id, secret] = basic ? Buffer.from(basic, 'base64').toString('utf8').split(':') : [];
  const grant = params.get('grant_type');
  if (!grant || !id)
    return { status: 400, body: { code: 4706, message: 'Missing client credentials or grant type.' } };
  if (grant !== 'account_credentials')
    return { status: 400, body: { code: 4705, message: 'Unsupported grant type.' } };
  const c = state.credentials.zoom;
  if (id !== c.clientId || secret !== c.clientSecret)
    return { status: 401, body: { code: 4702, message: 'Invalid client_id or client_secret.' } };
  if (params.get('account_id') !== c.accountId)
    return { status: 400, body: { code: 4700, message: 'Invalid account_id.' } };
  const { token: t, ttl } = state.newToken('zoom', 3599);
  return {
    status: 200,
    body: {
      access_token: t,
      token_type: 'bearer',
      expires_in: ttl,
      scope: 'user:read:admin role:read:admin role:write:admin',
      api_url: `http://${req.headers.host}/zoom`,
    },
  };
}
