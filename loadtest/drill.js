// Steady load for the resilience drills (`cargo xtask drill <name>`): a
// writer creating items and readers paging through them, at constant
// arrival rates, while the drill injects one fault.
//
// Every acknowledged write (200 with the item's id) is written to the
// console output as one JSON line {"ack": id, "sent": ms, "acked": ms}; the
// drill checks afterwards that each one still exists. No thresholds here:
// the drill judges the run from the per-request CSV output against its own
// targets (docs/drills.md).
import exec from 'k6/execution';
import { Counter } from 'k6/metrics';
import * as api from './lib/api.js';

// 5xx answers without a Retry-After header (the db-outage drill wants none).
const retryAfterMissing = new Counter('retry_after_missing');

function watch(res, name) {
  if (res.status >= 500 && !res.headers['Retry-After']) {
    retryAfterMissing.add(1, { name, status: String(res.status) });
  }
  return res;
}

const DURATION = __ENV.DURATION || '30s';
const WRITES = parseInt(__ENV.WRITES_PER_SECOND || '20', 10);
const READS = parseInt(__ENV.READS_PER_SECOND || '20', 10);
const VUS = parseInt(__ENV.MAX_VUS || '200', 10);
const PASSWORD = 'drill-password-1';

function constant(fn, perSecond) {
  return {
    executor: 'constant-arrival-rate',
    exec: fn,
    rate: perSecond,
    timeUnit: '1s',
    duration: DURATION,
    preAllocatedVUs: Math.min(VUS, Math.max(4, perSecond)),
    maxVUs: VUS,
    tags: { journey: fn },
  };
}

// OVERLOAD=10: BASELINE_SECONDS at the base rate, then OVERLOAD x the rate
// for OVERLOAD_SECONDS (reached in 1 s), then back to the base rate for
// RECOVERY_SECONDS (overload drill).
const OVERLOAD = parseInt(__ENV.OVERLOAD || '0', 10);
function overloaded(fn, perSecond) {
  const high = perSecond * OVERLOAD;
  return {
    executor: 'ramping-arrival-rate',
    exec: fn,
    startRate: perSecond,
    timeUnit: '1s',
    stages: [
      { target: perSecond, duration: `${__ENV.BASELINE_SECONDS || 10}s` },
      { target: high, duration: '1s' },
      { target: high, duration: `${(__ENV.OVERLOAD_SECONDS || 30) - 1}s` },
      { target: perSecond, duration: '1s' },
      { target: perSecond, duration: `${(__ENV.RECOVERY_SECONDS || 20) - 1}s` },
    ],
    preAllocatedVUs: Math.min(VUS, perSecond * 2),
    maxVUs: VUS,
    tags: { journey: fn },
  };
}

const scenarios = {};
const shape = OVERLOAD > 0 ? overloaded : constant;
if (WRITES > 0) scenarios.writes = shape('writes', WRITES);
if (READS > 0) scenarios.reads = shape('reads', READS);

export const options = {
  scenarios,
  setupTimeout: '60s',
  summaryTrendStats: ['avg', 'min', 'med', 'p(90)', 'p(95)', 'p(99)', 'max'],
};

export function setup() {
  const email = __ENV.DRILL_EMAIL || api.uniqueEmail('drill');
  const token = __ENV.DRILL_EMAIL
    ? api.mustLogin(email, __ENV.DRILL_PASSWORD)
    : api.mustSignupLogin(email, PASSWORD);
  return { token };
}

export function writes(data) {
  const sent = Date.now();
  const n = exec.scenario.iterationInTest;
  const res = watch(api.createItem(data.token, `drill ${n}`, `written at ${sent}`), 'POST /items/');
  if (res.status === 200) {
    const body = api.json(res);
    if (body && body.id) {
      console.log(JSON.stringify({ ack: body.id, sent, acked: Date.now() }));
    }
  }
}

export function reads(data) {
  watch(api.listItemsResponse(data.token, 0, 10), 'GET /items/');
}
