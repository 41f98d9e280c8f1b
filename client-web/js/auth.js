// Token storage (localStorage) and refresh. Refresh tokens rotate, so only one refresh may run at a
// time, and another tab may already have rotated the pair: re-read storage before and after.
import { rest, ApiError } from './api.js';

const KEY = 'natter.auth';
const EARLY_MS = 60000; // refresh this long before expiry, to absorb clock skew

let cur = load();
let refreshing = null;

function load() {
  try { return JSON.parse(localStorage.getItem(KEY)) || null; } catch { return null; }
}

export function current() { return cur; }

export function save(res) {
  cur = {
    access: res.access_token,
    refresh: res.refresh_token,
    expiresAt: Date.parse(res.expires_at) || 0,
    user: res.user,
  };
  localStorage.setItem(KEY, JSON.stringify(cur));
  return cur;
}

export function clear() {
  cur = null;
  localStorage.removeItem(KEY);
}

const fresh = (a) => a && a.expiresAt - Date.now() > EARLY_MS;

export async function accessToken(force = false) {
  if (!cur) throw new ApiError('unauthorized', 'Not logged in');
  if (!force && fresh(cur)) return cur.access;
  return (await refresh(cur.access)).access;
}

function refresh(stale) {
  if (refreshing) return refreshing;
  refreshing = (async () => {
    const other = load();
    if (other && other.access !== stale && fresh(other)) return (cur = other);
    if (!cur) throw new ApiError('unauthorized', 'Not logged in');
    try {
      return save(await rest('auth.refresh', { refresh_token: cur.refresh }));
    } catch (e) {
      const again = load();
      if (again && again.access !== stale && fresh(again)) return (cur = again);
      throw e;
    }
  })().finally(() => { refreshing = null; });
  return refreshing;
}

// REST with the bearer token; one retry after a refresh when the server says 401.
export async function authedRest(op, d) {
  try {
    return await rest(op, d, await accessToken());
  } catch (e) {
    if (e.status !== 401 || !cur) throw e;
    return rest(op, d, await accessToken(true));
  }
}
