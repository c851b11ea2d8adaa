"""A transport that replays recorded real exchanges in order, checking each request matches."""
from __future__ import annotations

import copy
import json
import os
from urllib.parse import urlsplit

FIXTURES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fixtures")


def load(name: str) -> list:
    with open(os.path.join(FIXTURES, name), encoding="utf-8") as fh:
        return json.load(fh)


class Replay:
    def __init__(self, exchanges: list):
        self.exchanges = copy.deepcopy(exchanges)
        self.sent: list = []

    def __call__(self, method, url, headers, data, timeout):
        want = self.exchanges.pop(0)
        path = urlsplit(url).path
        assert (method, path) == (want["method"], want["path"]), f"unexpected {method} {path}, recorded {want}"
        self.sent.append({"method": method, "path": path, "headers": headers,
                          "body": json.loads(data) if data else None})
        return want["status"], want["headers"], want["body"].encode()
