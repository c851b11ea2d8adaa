// examday.ops: generic smoke / stress / soak profiles for any HTTP endpoint.
//
// Run by the module examday.ops.load: the executor (constant or ramping VUs, or an arrival rate)
// and the thresholds are in the --config file; the request is described by EXAMDAY_CONFIG (JSON).
import http from 'k6/http';
import { check, sleep } from 'k6';

const CFG = JSON.parse(__ENV.EXAMDAY_CONFIG || '{}');
const EXPECT = (CFG.expect_status && CFG.expect_status.length) ? CFG.expect_status : [200];
const BODY = CFG.body === undefined || CFG.body === null ? null
  : (typeof CFG.body === 'string' ? CFG.body : JSON.stringify(CFG.body));

// A request counts as failed (http_req_failed) when its status is not an expected one.
http.setResponseCallback(http.expectedStatuses(...EXPECT));

export function hit() {
  const res = http.request(CFG.method || 'GET', CFG.url, BODY, {
    headers: CFG.headers || {},
    timeout: CFG.timeout || '10s',
    tags: { name: `${CFG.method || 'GET'} ${CFG.name || CFG.url}` },
  });
  check(res, { 'status is expected': (r) => EXPECT.indexOf(r.status) >= 0 });
  if (!CFG.open_model && CFG.think_time > 0) {
    sleep(CFG.think_time * (0.5 + Math.random()));
  }
}
