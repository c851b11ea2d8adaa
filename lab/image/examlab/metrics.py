"""A small Prometheus text-format registry (one per process)."""
from __future__ import annotations

import threading

BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


class Registry:
    def __init__(self):
        self._lock = threading.Lock()
        self.requests: dict[tuple, int] = {}
        self.durations: dict[str, list] = {}

    def observe(self, method: str, route: str, status: int, seconds: float) -> None:
        with self._lock:
            key = (method, route, str(status))
            self.requests[key] = self.requests.get(key, 0) + 1
            hist = self.durations.setdefault(route, [0] * len(BUCKETS) + [0, 0.0])
            for i, bound in enumerate(BUCKETS):
                if seconds <= bound:
                    hist[i] += 1
            hist[len(BUCKETS)] += 1
            hist[len(BUCKETS) + 1] += seconds

    def render(self, gauges: dict[str, float]) -> str:
        out = ["# TYPE http_requests_total counter"]
        with self._lock:
            for (method, route, status), n in sorted(self.requests.items()):
                out.append(f'http_requests_total{{method="{method}",route="{route}",status="{status}"}} {n}')
            out.append("# TYPE http_request_duration_seconds histogram")
            for route, hist in sorted(self.durations.items()):
                for i, bound in enumerate(BUCKETS):
                    out.append(f'http_request_duration_seconds_bucket{{route="{route}",le="{bound}"}} {hist[i]}')
                count, total = hist[len(BUCKETS)], hist[len(BUCKETS) + 1]
                out.append(f'http_request_duration_seconds_bucket{{route="{route}",le="+Inf"}} {count}')
                out.append(f'http_request_duration_seconds_count{{route="{route}"}} {count}')
                out.append(f'http_request_duration_seconds_sum{{route="{route}"}} {total:.6f}')
        for name, value in sorted(gauges.items()):
            out.append(f"# TYPE {name} gauge")
            out.append(f"{name} {value}")
        return "\n".join(out) + "\n"
