// The service level objectives of observability/prometheus/rules/userhub.yml,
// as k6 thresholds. Keep the two in step: the rules file is the source.
//
//   availability: 99.9 % of requests answer non-5xx   -> http_req_failed < 0.1 %
//   latency:      99 % of requests answer in < 500 ms -> p(99) < 500 ms
//
// `http_req_failed` counts what `expectedStatuses` (lib/api.js) does not
// accept: 5xx, and transport errors/timeouts (status 0). A 4xx the journey
// expects (404 after a delete, 429 from the login limiter) is not a failure;
// an unexpected 4xx fails a check, and checks are gated too.
export const SLO = {
  availability: 0.999,
  latencyP99Ms: 500,
};

// Thresholds apply to the journeys' requests (tagged slo=yes by their
// scenarios), not to setup() preparing users and items.
// `abort`: stop the run as soon as a threshold is crossed.
export function sloThresholds(abort = false) {
  const gate = (expr) =>
    abort ? { threshold: expr, abortOnFail: true, delayAbortEval: '30s' } : expr;
  return {
    'http_req_failed{slo:yes}': [gate(`rate<${(1 - SLO.availability).toFixed(4)}`)],
    'http_req_duration{slo:yes}': [gate(`p(99)<${SLO.latencyP99Ms}`)],
    'checks{slo:yes}': [gate('rate>0.999')],
  };
}
