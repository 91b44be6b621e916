"""health-predict: serves an MLflow model of health risk over HTTP.

    GET  /health   200 {"status": "ok", "model": {name, version, uri}} once the model is
                   loaded; 503 before, and for as long as loading fails (the readiness probe)
    POST /predict  a Patient (see schema.py) -> {"risk", "probability", "model"};
                   422 on an invalid body, 503 before the model is loaded, 500 if it fails
    GET  /metrics  Prometheus text format: http_requests_total{path, code}, so an analysis can
                   compute the error rate of a canary, e.g.
                   sum(rate(http_requests_total{code=~"5..",pod=~"{canary}-.*"}[1m]))

Environment: MODEL_URI (e.g. models:/health-predict/1 or models:/health-predict@champion),
MLFLOW_TRACKING_URI (plus MLflow's usual credential variables), PORT (8080).
"""

import logging
import math
import os
import sys
import threading
from collections import Counter
from contextlib import asynccontextmanager
from urllib.parse import urlsplit

# Fail an unreachable tracking server within seconds and let our own backoff (which logs every
# attempt) retry, instead of MLflow's minutes of silent HTTP retries. Explicit settings win.
os.environ.setdefault("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "1")
os.environ.setdefault("MLFLOW_HTTP_REQUEST_TIMEOUT", "30")

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, PlainTextResponse

from .model import ModelLoader, short
from .schema import Health, Patient, Prediction

log = logging.getLogger("health_predict")
if not log.handlers:  # also log when started as `uvicorn app.main:app`
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    log.addHandler(handler)
    log.setLevel(logging.INFO)
    log.propagate = False


def redacted(url: str | None) -> str:
    """A URL fit for a log line: user and password dropped."""
    if not url:
        return "(not set)"
    parts = urlsplit(url)
    if parts.username or parts.password:
        parts = parts._replace(
            netloc=f"***@{parts.hostname}" + (f":{parts.port}" if parts.port else "")
        )
    return parts.geturl()


loader = ModelLoader(os.environ.get("MODEL_URI") or None)


@asynccontextmanager
async def lifespan(_app: FastAPI):
    log.info(
        "Starting: model %s, tracking server %s",
        loader.uri or "(MODEL_URI not set)",
        redacted(os.environ.get("MLFLOW_TRACKING_URI")),
    )
    loader.start()
    yield
    loader.stop()
    log.info("Stopped")


app = FastAPI(title="health-predict", version="1.0.0", lifespan=lifespan)

# Requests by path and status code, for /metrics (sync handlers run in threads: hence the lock).
_requests: Counter = Counter()
_requests_lock = threading.Lock()
_COUNTED_PATHS = {"/health", "/predict"}


@app.middleware("http")
async def count_requests(request: Request, call_next):
    response = await call_next(request)
    if request.url.path == "/metrics":  # the scrapes themselves are no traffic
        return response
    path = request.url.path if request.url.path in _COUNTED_PATHS else "other"
    with _requests_lock:
        _requests[(path, response.status_code)] += 1
    return response


@app.get("/metrics", response_class=PlainTextResponse)
def metrics():
    with _requests_lock:
        counted = sorted(_requests.items())
    lines = [
        "# HELP http_requests_total Requests answered, by path and status code.",
        "# TYPE http_requests_total counter",
        *(f'http_requests_total{{path="{path}",code="{code}"}} {n}' for (path, code), n in counted),
    ]
    return PlainTextResponse("\n".join(lines) + "\n", media_type="text/plain; version=0.0.4")


@app.get(
    "/health", response_model=Health, responses={503: {"description": "model not loaded (yet)"}}
)
def health():
    model = loader.model
    if model is None:
        status = "failed" if loader.error else "loading"
        return JSONResponse(
            status_code=503,
            content={
                "status": status,
                "uri": loader.uri,
                "attempts": loader.attempts,
                "detail": loader.error,
            },
        )
    return Health(status="ok", model=model.ref)


@app.post(
    "/predict",
    response_model=Prediction,
    responses={
        500: {"description": "the model failed"},
        503: {"description": "model not loaded (yet)"},
    },
)
def predict(patient: Patient):
    model = loader.model
    if model is None:
        return JSONResponse(
            status_code=503,
            content={
                "error": "ModelNotLoaded",
                "detail": loader.error or "the model is still loading",
            },
        )
    try:
        return model.predict(patient)
    except Exception as err:  # noqa: BLE001 - a model failing on this input must not take the app down
        detail = short(err)
        log.warning(
            "Prediction failed with model %s version %s: %s",
            model.ref.name,
            model.ref.version,
            detail,
        )
        return JSONResponse(
            status_code=500, content={"error": "PredictionFailed", "detail": detail}
        )


def _json_safe(value):
    """NaN and infinities (Python's JSON parser accepts them) as strings, so a 422 that echoes
    them back can still be written as JSON."""
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if isinstance(value, dict):
        return {k: _json_safe(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_json_safe(v) for v in value]
    return value


@app.exception_handler(RequestValidationError)
async def invalid_request(_request: Request, err: RequestValidationError):
    # FastAPI's own answer, except that it cannot fail on a NaN in the echoed input.
    return JSONResponse(
        status_code=422, content={"detail": _json_safe(jsonable_encoder(err.errors()))}
    )


@app.exception_handler(Exception)
async def unexpected(_request: Request, err: Exception):
    log.error("Request failed: %s", short(err))
    return JSONResponse(status_code=500, content={"error": "InternalError", "detail": short(err)})
