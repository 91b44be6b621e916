"""Loads the served model from MLflow in the background, retrying with backoff, and predicts."""

import logging
import os
import re
import threading
import time
from dataclasses import dataclass
from typing import Any

from .schema import ModelRef, Patient, Prediction

log = logging.getLogger("health_predict")

# A registry URI: models:/<name>/<version|stage|latest> or models:/<name>@<alias>.
REGISTRY_URI = re.compile(r"models:/(?P<name>[^/@]+)(?:/(?P<ref>[^/]+)|@(?P<alias>[^/]+))")
POSITIVE = "high"
UNREACHABLE = re.compile(
    r"API request to (\S+) failed with exception .*?(\[Errno -?\d+\][^\"')]*|Read timed out)"
)


def short(err: BaseException, limit: int = 300) -> str:
    """One line saying what went wrong, short enough for a log line or a JSON error."""
    text = getattr(err, "message", None) or str(err) or type(err).__name__
    text = " ".join(str(text).split())
    # MLflow's schema errors start with the whole input and schema; the cause comes last.
    if text.startswith("Failed to enforce schema") and ". Error: " in text:
        text = "Input does not match the model's schema: " + text.rsplit(". Error: ", 1)[1]
    # A failed HTTP call to MLflow: keep the URL and the OS error, drop urllib3's wrapping.
    if match := UNREACHABLE.search(text):
        text = f"API request to {match.group(1)} failed: {match.group(2).strip()}"
    text = f"{type(err).__name__}: {text}"
    return text if len(text) <= limit else text[: limit - 3] + "..."


def resolve(uri: str) -> ModelRef:
    """The registered name and exact version a URI points at (one registry call for an alias
    or a stage), so /health names what is served and a moving alias cannot change it later.
    Other URIs (runs:/, s3://, ...) keep MODEL_NAME/MODEL_VERSION from the environment."""
    match = REGISTRY_URI.fullmatch(uri)
    if not match:
        return ModelRef(
            name=os.environ.get("MODEL_NAME") or None,
            version=os.environ.get("MODEL_VERSION") or None,
            uri=uri,
        )
    name, ref, alias = match.group("name", "ref", "alias")
    if ref is not None and ref.isdigit():
        return ModelRef(name=name, version=ref, uri=uri)
    from mlflow import MlflowClient

    client = MlflowClient()
    if alias is not None:
        version = client.get_model_version_by_alias(name, alias).version
    else:
        stages = None if ref.lower() == "latest" else [ref]
        found = client.get_latest_versions(name, stages)
        if not found:
            raise LookupError(f'registered model "{name}" has no version in stage "{ref}"')
        version = max(found, key=lambda v: int(v.version)).version
    return ModelRef(name=name, version=str(version), uri=uri)


@dataclass
class LoadedModel:
    ref: ModelRef
    pyfunc: Any
    raw: Any  # the scikit-learn estimator when the flavour exposes one, for probabilities

    def predict(self, patient: Patient) -> Prediction:
        import pandas as pd

        frame = pd.DataFrame([patient.model_dump()])
        # The pyfunc checks the input against the model's signature: a model that expects other
        # inputs fails here, and the caller turns that into a 500.
        labels = self.pyfunc.predict(frame)
        risk = str(_first(labels))
        probability = None
        classes = [str(c) for c in getattr(self.raw, "classes_", [])]
        if POSITIVE in classes and hasattr(self.raw, "predict_proba"):
            probability = float(self.raw.predict_proba(frame)[0][classes.index(POSITIVE)])
        return Prediction(risk=risk, probability=probability, model=self.ref)


def _first(values: Any) -> Any:
    if hasattr(values, "iloc"):  # pandas Series or DataFrame
        values = values.to_numpy()
    import numpy as np

    return np.asarray(values).ravel()[0]


def load(uri: str) -> LoadedModel:
    started = time.monotonic()
    ref = resolve(uri)
    if REGISTRY_URI.fullmatch(uri):
        exact = f"models:/{ref.name}/{ref.version}"
        if exact != uri:
            log.info("Resolved %s to model %s version %s", uri, ref.name, ref.version)
    else:
        exact = uri
    log.info("Downloading and loading %s", exact)
    import mlflow.pyfunc

    pyfunc = mlflow.pyfunc.load_model(exact)
    try:
        raw = pyfunc.get_raw_model()
    except Exception:  # noqa: BLE001 - flavours without a raw model give no probability
        raw = None
    log.info(
        "Loaded model %s version %s in %.1fs; ready to serve",
        ref.name,
        ref.version,
        time.monotonic() - started,
    )
    return LoadedModel(ref=ref, pyfunc=pyfunc, raw=raw)


class ModelLoader:
    """Loads one model URI on a background thread until it succeeds or stop() is called.
    Waits 1s, 2s, 4s ... (at most max_delay) between attempts and logs why each one failed."""

    def __init__(self, uri: str | None, max_delay: float = 30.0):
        self.uri = uri
        self.max_delay = max_delay
        self.model: LoadedModel | None = None
        self.attempts = 0
        self.error: str | None = None if uri else "MODEL_URI is not set"
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if not self.uri:
            log.error("MODEL_URI is not set; nothing to load, /health stays 503")
            return
        self._thread = threading.Thread(target=self._run, name="model-loader", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()

    def _run(self) -> None:
        delay = 1.0
        log.info("Loading model %s", self.uri)
        while not self._stop.is_set():
            self.attempts += 1
            try:
                self.model = load(self.uri)
                self.error = None
                return
            except Exception as err:  # noqa: BLE001 - any failure: stay 503 and try again
                self.error = short(err)
                log.warning(
                    "Loading model %s failed (attempt %d): %s; retrying in %.0fs",
                    self.uri,
                    self.attempts,
                    self.error,
                    delay,
                )
            if self._stop.wait(delay):
                return
            delay = min(delay * 2, self.max_delay)
