"""Black-box API tests of a running health-predict service.

Environment: SERVICE_URL (required, e.g. http://health-predict.ns.svc), MODEL_VERSION (when
set, /health must report it), HEALTH_WAIT_SECONDS (how long to wait for /health, 60).
"""

import os
import time

import httpx
import pytest


@pytest.fixture(scope="session")
def client():
    url = os.environ.get("SERVICE_URL")
    if not url:
        pytest.exit("SERVICE_URL is not set", returncode=2)
    wait = float(os.environ.get("HEALTH_WAIT_SECONDS", "60"))
    with httpx.Client(base_url=url, timeout=10.0) as c:
        deadline = time.monotonic() + wait
        last = "no answer"
        while True:
            try:
                r = c.get("/health")
                if r.status_code == 200:
                    break
                last = f"{r.status_code} {r.text[:200]}"
            except httpx.HTTPError as err:
                last = f"{type(err).__name__}: {err}"
            if time.monotonic() >= deadline:
                pytest.exit(f"{url}/health not ready after {wait:.0f}s: {last}", returncode=1)
            time.sleep(1.0)
        yield c
