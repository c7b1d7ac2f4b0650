// Userhub user journeys under load: `cargo xtask load [scenario]` runs this
// against two `userhub api` replicas and one `userhub web` behind HAProxy.
//
//   k6 run -e BASE_URL=http://127.0.0.1:PORT -e SCENARIO=smoke \
//          -e ADMIN_EMAIL=... -e ADMIN_PASSWORD=... loadtest/userhub.js
//
// Journeys (one k6 scenario each, open model: constant or ramping arrival
// rate, so a slow server cannot slow the offered load down):
//   browse  - page through the own items, open one, read the profile
//   crud    - create, update, read and delete an item
//   admin   - superuser lists users and all items
//   signup  - sign up, log in, read the profile (two argon2id hashes)
//   login   - log in as an existing user (one argon2id verification)
//   web     - the server-rendered login page through the web service
//
// Load profiles (SCENARIO): smoke, average, stress, spike, soak. Rates are
// iterations per minute per journey; see PROFILES below and docs/load.md.
// Thresholds are the SLOs (lib/slo.js); a crossed threshold makes k6 exit 99.
import exec from 'k6/execution';
import * as api from './lib/api.js';
import { sloThresholds } from './lib/slo.js';

const SCENARIO = __ENV.SCENARIO || 'smoke';
const USERS = parseInt(__ENV.USERS || '4', 10);
const SEED_ITEMS = parseInt(__ENV.SEED_ITEMS || '30', 10);
const SOAK = __ENV.SOAK_DURATION || '5m';
const PAGE = 10;

// Iterations per minute of each journey at the "average" level. Signups
// and logins cost an argon2id hash each (64 MiB, ~0.1-0.3 s of a core) and
// are rare next to reads and writes in real traffic: here about 0.5 % of
// requests, so the latency SLO (99 % under 500 ms) is not decided by the
// hash alone.
const AVERAGE = { browse: 600, crud: 240, admin: 60, signup: 4, login: 8, web: 120 };
const SMOKE = { browse: 120, crud: 60, admin: 30, signup: 1, login: 1, web: 30 };

function constant(journey, perMinute, duration) {
  return {
    executor: 'constant-arrival-rate',
    exec: journey,
    rate: perMinute,
    timeUnit: '1m',
    duration,
    preAllocatedVUs: Math.max(2, Math.ceil(perMinute / 60) * 2),
    maxVUs: Math.max(10, Math.ceil(perMinute / 60) * 20),
    tags: { journey, slo: 'yes' },
  };
}

function ramping(journey, startPerMinute, stages) {
  const peak = Math.max(startPerMinute, ...stages.map((s) => s.target));
  return {
    executor: 'ramping-arrival-rate',
    exec: journey,
    startRate: startPerMinute,
    timeUnit: '1m',
    stages,
    preAllocatedVUs: Math.max(4, Math.ceil(peak / 60)),
    maxVUs: Math.max(20, Math.ceil(peak / 60) * 3),
    tags: { journey, slo: 'yes' },
  };
}

function mix(rates, duration, scale = 1) {
  const out = {};
  for (const [journey, perMinute] of Object.entries(rates)) {
    out[journey] = constant(journey, Math.max(1, Math.round(perMinute * scale)), duration);
  }
  return out;
}

// The stress ramp: the read and write journeys climb from the average
// level to 16x it in 8 steps of 20 s; the hashing journeys stay at the
// average (their cost is fixed by argon2id, see docs/benchmarks.md).
export const STRESS_STEPS = 8;
export const STRESS_STEP_SECONDS = 20;
function stressStages(base) {
  const stages = [];
  for (let step = 1; step <= STRESS_STEPS; step++) {
    const target = Math.round(base * 2 ** (step / 2));
    stages.push({ target, duration: `${STRESS_STEP_SECONDS / 2}s` });
    stages.push({ target, duration: `${STRESS_STEP_SECONDS / 2}s` });
  }
  return stages;
}

const PROFILES = {
  smoke: () => mix(SMOKE, __ENV.SMOKE_DURATION || '30s'),
  average: () => mix(AVERAGE, __ENV.AVERAGE_DURATION || '60s'),
  soak: () => mix(AVERAGE, SOAK),
  stress: () => {
    const duration = `${STRESS_STEPS * STRESS_STEP_SECONDS}s`;
    return {
      browse: ramping('browse', AVERAGE.browse, stressStages(AVERAGE.browse)),
      crud: ramping('crud', AVERAGE.crud, stressStages(AVERAGE.crud)),
      admin: constant('admin', AVERAGE.admin, duration),
      signup: constant('signup', AVERAGE.signup, duration),
      login: constant('login', AVERAGE.login, duration),
      web: constant('web', AVERAGE.web, duration),
    };
  },
  // 20 s at the average, 10x for 20 s (reached in 2 s), 20 s back at the average.
  spike: () => {
    const spike = (journey) => {
      const base = AVERAGE[journey];
      return ramping(journey, base, [
        { target: base, duration: '20s' },
        { target: base * 10, duration: '2s' },
        { target: base * 10, duration: '18s' },
        { target: base, duration: '2s' },
        { target: base, duration: '18s' },
      ]);
    };
    return {
      browse: spike('browse'),
      crud: spike('crud'),
      admin: constant('admin', AVERAGE.admin, '60s'),
      signup: constant('signup', AVERAGE.signup, '60s'),
      login: constant('login', AVERAGE.login, '60s'),
      web: spike('web'),
    };
  },
};

if (!PROFILES[SCENARIO]) {
  throw new Error(`unknown SCENARIO ${SCENARIO}: one of ${Object.keys(PROFILES).join(', ')}`);
}

export const options = {
  scenarios: PROFILES[SCENARIO](),
  // Stress runs the whole ramp: k6's thresholds are cumulative (the
  // warm-up weighs on them), so `cargo xtask load stress` finds the first
  // 10 s window past the SLOs itself.
  thresholds: sloThresholds(),
  setupTimeout: '120s',
  summaryTrendStats: ['avg', 'min', 'med', 'p(90)', 'p(95)', 'p(99)', 'max'],
};

const PASSWORD = 'load-test-password-1';

// Users the journeys act as, each owning SEED_ITEMS items; the superuser's token.
export function setup() {
  const users = [];
  for (let i = 0; i < USERS; i++) {
    const email = api.uniqueEmail(`load-user${i}`);
    const token = api.mustSignupLogin(email, PASSWORD);
    for (let n = 0; n < SEED_ITEMS; n++) {
      api.createItem(token, `seed ${n}`, 'seeded by the load test');
    }
    users.push({ email, token });
  }
  // The crud journey writes as users of its own, so a reader never opens
  // an item a writer is deleting at that moment.
  const writers = [];
  for (let i = 0; i < 2; i++) {
    writers.push({ token: api.mustSignupLogin(api.uniqueEmail(`load-writer${i}`), PASSWORD) });
  }
  const admin = api.mustLogin(__ENV.ADMIN_EMAIL, __ENV.ADMIN_PASSWORD);
  return { users, writers, admin };
}

function user(data) {
  return data.users[exec.scenario.iterationInTest % data.users.length];
}

function writer(data) {
  return data.writers[exec.scenario.iterationInTest % data.writers.length];
}

export function browse(data) {
  const { token } = user(data);
  const first = api.listItems(token, 0, PAGE);
  if (first && first.count > PAGE) {
    const pages = Math.ceil(first.count / PAGE);
    const skip = PAGE * (1 + Math.floor(Math.random() * (pages - 1)));
    api.listItems(token, skip, PAGE);
  }
  if (first && first.data.length > 0) {
    api.getItem(token, first.data[Math.floor(Math.random() * first.data.length)].id);
  }
  api.me(token);
}

export function crud(data) {
  const { token } = writer(data);
  const created = api.createItem(token, `item ${__VU}-${__ITER}`, 'created by the load test');
  if (created.status !== 200) return;
  const id = api.json(created).id;
  api.updateItem(token, id, `item ${__VU}-${__ITER} (edited)`);
  api.getItem(token, id);
  api.deleteItem(token, id);
}

export function admin(data) {
  const users = api.listUsers(data.admin, 0, 20);
  if (users && users.count > 20) {
    api.listUsers(data.admin, 20 * Math.floor(Math.random() * Math.ceil(users.count / 20)), 20);
  }
  api.listItems(data.admin, 0, 50);
}

export function signup() {
  const email = api.uniqueEmail('load-signup');
  if (api.signup(email, PASSWORD).status !== 200) return;
  const token = api.login(email, PASSWORD);
  if (token) api.me(token);
}

export function login(data) {
  const { email } = user(data);
  const token = api.login(email, PASSWORD);
  if (token) api.me(token);
}

export function web() {
  api.webPage('/login', 'GET web /login');
}
