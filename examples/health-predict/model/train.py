"""Trains the demo health-risk classifier and registers it as a new MLflow model version.

Used by `python -m model.register` and by the test bed's seed (test/bed/seed.py). Needs
MLFLOW_TRACKING_URI; scikit-learn, pandas and numpy come with MLflow's environment.
"""

import contextlib
import os
import sys
from importlib import metadata

from .features import BROKEN_EXTRA, CATEGORICAL, NUMERIC, synthetic_patients

VARIANTS = ("good", "broken")
# What loading the logged model needs besides MLflow (the app's requirements.txt pins these).
SERVING_DISTS = ("scikit-learn", "skops", "pandas", "numpy")
EXPERIMENT = "health-predict"


def build_pipeline(numeric, categorical, c_value):
    """Scaled numbers and one-hot categories into a logistic regression."""
    from sklearn.compose import ColumnTransformer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    features = ColumnTransformer(
        [
            ("numeric", StandardScaler(), list(numeric)),
            ("categorical", OneHotEncoder(handle_unknown="ignore"), list(categorical)),
        ]
    )
    return Pipeline(
        [("features", features), ("classifier", LogisticRegression(C=c_value, max_iter=1000))]
    )


def register_version(name, variant="good", c_value=1.0, alias=None, experiment=EXPERIMENT):
    """Trains one variant, logs it with a signature and an input example, and registers it as
    a new version of `name`. Returns {name, version, run_id}."""
    if variant not in VARIANTS:
        raise ValueError(f"variant must be one of {', '.join(VARIANTS)}, not {variant!r}")
    import mlflow
    from mlflow.models import infer_signature

    extra = BROKEN_EXTRA if variant == "broken" else {}
    x, y = synthetic_patients(extra_numeric=extra)
    pipeline = build_pipeline([*NUMERIC, *extra], CATEGORICAL, c_value).fit(x, y)

    mlflow.set_experiment(experiment)
    with mlflow.start_run(run_name=f"{variant}-C{c_value}") as run:
        mlflow.log_params({"variant": variant, "C": c_value, "rows": len(x)})
        mlflow.log_metric("train_accuracy", float(pipeline.score(x, y)))
        info = mlflow.sklearn.log_model(
            sk_model=pipeline,
            name="model",
            registered_model_name=name,
            signature=infer_signature(x, pipeline.predict(x)),
            input_example=x.head(2),
            # Pinned requirements skip MLflow's slow dependency inference. skops is MLflow's
            # default (safe) format for scikit-learn models: the server needs it to load them.
            pip_requirements=[f"{dist}=={metadata.version(dist)}" for dist in SERVING_DISTS],
        )
    version = str(info.registered_model_version)
    client = mlflow.MlflowClient()
    client.set_model_version_tag(name, version, "variant", variant)
    if alias:
        client.set_registered_model_alias(name, alias, version)
    return {"name": name, "version": version, "run_id": run.info.run_id}


@contextlib.contextmanager
def stdout_to_stderr():
    """MLflow prints "View run ..." lines on stdout. Inside this block anything written to
    fd 1 goes to stderr; the yielded stream writes to the real stdout (for the JSON result)."""
    sys.stdout.flush()
    real_stdout = os.fdopen(os.dup(1), "w")
    saved = os.dup(1)
    os.dup2(2, 1)
    try:
        yield real_stdout
    finally:
        sys.stdout.flush()
        real_stdout.flush()
        os.dup2(saved, 1)
        os.close(saved)
        real_stdout.close()
