// Thin client of the Userhub REST API (docs/api.md) for k6 journeys.
import http from 'k6/http';
import { check, fail } from 'k6';

export const BASE = (__ENV.BASE_URL || 'http://127.0.0.1:8000').replace(/\/$/, '');
export const API = `${BASE}/api/v1`;
// Per-request deadline: a request still unanswered after this counts as an
// error (status 0), so a hanging server cannot hide behind a slow test.
export const TIMEOUT = __ENV.REQUEST_TIMEOUT || '10s';

// 2xx-4xx are answers; 5xx and transport errors are failures (the SLO).
http.setResponseCallback(http.expectedStatuses({ min: 200, max: 499 }));

function params(token, name, extra = {}) {
  const headers = Object.assign({ 'Content-Type': 'application/json' }, extra.headers || {});
  if (token) headers.Authorization = `Bearer ${token}`;
  return { headers, tags: { name }, timeout: TIMEOUT };
}

function json(res) {
  try {
    return res.json();
  } catch (_) {
    return null;
  }
}

// Unique across VUs, iterations and runs (__ITER does not exist in setup()).
export function uniqueEmail(prefix) {
  const rand = Math.floor(Math.random() * 1e9).toString(36);
  const iter = typeof __ITER === 'undefined' ? 's' : __ITER;
  return `${prefix}-${__VU}-${iter}-${Date.now().toString(36)}${rand}@example.com`;
}

export function signup(email, password) {
  const res = http.post(
    `${API}/users/signup`,
    JSON.stringify({ email, password, full_name: 'Load Test' }),
    params(null, 'POST /users/signup'),
  );
  check(res, { 'signup 200': (r) => r.status === 200 });
  return res;
}

export function login(email, password) {
  const res = http.post(
    `${API}/login/access-token`,
    { username: email, password },
    { tags: { name: 'POST /login/access-token' }, timeout: TIMEOUT },
  );
  const ok = check(res, { 'login 200': (r) => r.status === 200 });
  return ok ? json(res).access_token : null;
}

// For setup(): a user that must exist, or the run is meaningless.
export function mustLogin(email, password) {
  const token = login(email, password);
  if (!token) fail(`login as ${email} failed`);
  return token;
}

export function mustSignupLogin(email, password) {
  const res = signup(email, password);
  if (res.status !== 200) fail(`signup ${email}: ${res.status} ${res.body}`);
  return mustLogin(email, password);
}

export function me(token) {
  const res = http.get(`${API}/users/me`, params(token, 'GET /users/me'));
  check(res, { 'me 200': (r) => r.status === 200 });
  return res;
}

export function listItemsResponse(token, skip, limit) {
  const res = http.get(`${API}/items/?skip=${skip}&limit=${limit}`, params(token, 'GET /items/'));
  check(res, { 'list items 200': (r) => r.status === 200 });
  return res;
}

export function listItems(token, skip, limit) {
  const res = listItemsResponse(token, skip, limit);
  return res.status === 200 ? json(res) : null;
}

export function getItem(token, id) {
  const res = http.get(`${API}/items/${id}`, params(token, 'GET /items/{id}'));
  check(res, { 'get item 200': (r) => r.status === 200 });
  return res;
}

export function createItem(token, title, description) {
  const res = http.post(
    `${API}/items/`,
    JSON.stringify({ title, description }),
    params(token, 'POST /items/'),
  );
  check(res, { 'create item 200': (r) => r.status === 200 });
  return res;
}

export function updateItem(token, id, title) {
  const res = http.put(
    `${API}/items/${id}`,
    JSON.stringify({ title }),
    params(token, 'PUT /items/{id}'),
  );
  check(res, { 'update item 200': (r) => r.status === 200 });
  return res;
}

export function deleteItem(token, id) {
  const res = http.del(`${API}/items/${id}`, null, params(token, 'DELETE /items/{id}'));
  check(res, { 'delete item 200': (r) => r.status === 200 });
  return res;
}

export function listUsers(token, skip, limit) {
  const res = http.get(`${API}/users/?skip=${skip}&limit=${limit}`, params(token, 'GET /users/'));
  check(res, { 'list users 200': (r) => r.status === 200 });
  return res.status === 200 ? json(res) : null;
}

export function webPage(path, name) {
  const res = http.get(`${BASE}${path}`, { tags: { name }, timeout: TIMEOUT, redirects: 0 });
  check(res, { [`${name} 2xx/3xx`]: (r) => r.status >= 200 && r.status < 400 });
  return res;
}

export { json };
