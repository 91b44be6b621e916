"""Seeds the test bed's MLflow server with registered models for the operator tests.

Run with the bed venv's python (up.sh does). Trains a tiny iris classifier and registers it
twice as $BED_MODEL_NAME (default "iris-clf"): version 1 goes to stage Staging, version 2 to
stage Production with alias "champion". If the model already has two or more versions nothing
is changed.

Then registers the demo app's health-risk model (examples/health-predict/model) as
$BED_DEMO_MODEL (default "health-predict"): versions 1 and 2 serve the app (two values of C;
version 1 has alias "champion"), version 3 is the "broken" variant that loads but fails every
prediction. If the model already has three or more versions nothing is changed.

Prints a JSON summary on stdout (the demo model under "demo"); progress and warnings go to
stderr.
"""

import json
import os
import sys
import time
import warnings
from pathlib import Path

MODEL_NAME = os.environ.get("BED_MODEL_NAME", "iris-clf")
EXPERIMENT = "bed-seed"
DEMO_MODEL = os.environ.get("BED_DEMO_MODEL", "health-predict")
DEMO_DIR = Path(__file__).resolve().parents[2] / "examples" / "health-predict"
# (variant, C) of demo versions 1, 2, 3.
DEMO_VERSIONS = [("good", 1.0), ("good", 0.1), ("broken", 1.0)]
DEMO_CHAMPION = "1"


def train_and_register(mlflow, c_value):
    """Logs one LogisticRegression run and registers it as a new version of MODEL_NAME."""
    import sklearn
    from sklearn.datasets import load_iris  # bundled with scikit-learn: no download
    from sklearn.linear_model import LogisticRegression

    x, y = load_iris(return_X_y=True)
    clf = LogisticRegression(C=c_value, max_iter=500).fit(x, y)
    with mlflow.start_run():
        mlflow.log_param("C", c_value)
        mlflow.log_metric("train_accuracy", float(clf.score(x, y)))
        info = mlflow.sklearn.log_model(
            sk_model=clf,
            name="model",
            registered_model_name=MODEL_NAME,
            input_example=x[:2],
            # Pinning requirements skips MLflow's slow dependency inference.
            pip_requirements=[f"scikit-learn=={sklearn.__version__}"],
        )
    return str(info.registered_model_version)


def summary(client, created, name=MODEL_NAME, with_variant=False):
    versions = sorted(
        client.search_model_versions(f"name='{name}'"), key=lambda v: int(v.version)
    )
    model = client.get_registered_model(name)
    versions = [client.get_model_version(name, v.version) for v in versions]  # with aliases
    return {
        "model": name,
        "created_versions": created,
        "aliases": dict(model.aliases or {}),
        "versions": [
            {
                "version": v.version,
                "stage": v.current_stage,
                "aliases": list(v.aliases or []),
                "source": v.source,
                "run_id": v.run_id,
                **({"variant": (v.tags or {}).get("variant")} if with_variant else {}),
            }
            for v in versions
        ],
    }


def seed_demo(client):
    """Registers the demo model's versions that are missing; returns its summary, where each
    version also says its variant ("good" or "broken")."""
    existing = client.search_model_versions(f"name='{DEMO_MODEL}'")
    created = []
    if len(existing) < len(DEMO_VERSIONS):
        sys.path.insert(0, str(DEMO_DIR))
        from model.train import register_version

        for variant, c_value in DEMO_VERSIONS[len(existing):]:
            started = time.monotonic()
            version = register_version(DEMO_MODEL, variant, c_value)["version"]
            print(
                f"seed.py: registered {DEMO_MODEL} version {version} ({variant}, C={c_value})"
                f" in {time.monotonic() - started:.1f}s",
                file=sys.stderr,
            )
            created.append(version)
        client.set_registered_model_alias(DEMO_MODEL, "champion", DEMO_CHAMPION)
    return summary(client, created, DEMO_MODEL, with_variant=True)


def main():
    if "MLFLOW_TRACKING_URI" not in os.environ:
        sys.exit("seed.py: MLFLOW_TRACKING_URI is not set")
    import mlflow
    from mlflow import MlflowClient

    # MLflow prints "View run ..." lines on stdout; keep stdout for the JSON summary alone.
    json_out = os.fdopen(os.dup(1), "w")
    os.dup2(2, 1)
    # Stages are deprecated in MLflow 3 but still served; the operator supports both.
    warnings.filterwarnings("ignore", category=FutureWarning)
    client = MlflowClient()
    existing = client.search_model_versions(f"name='{MODEL_NAME}'")
    created = []
    if len(existing) < 2:
        mlflow.set_experiment(EXPERIMENT)
        for c_value in [0.5, 1.0][len(existing):]:
            created.append(train_and_register(mlflow, c_value))
        client.transition_model_version_stage(MODEL_NAME, "1", "Staging")
        client.transition_model_version_stage(MODEL_NAME, "2", "Production")
        client.set_registered_model_alias(MODEL_NAME, "champion", "2")
    result = summary(client, created)
    result["demo"] = seed_demo(client)
    json_out.write(json.dumps(result, indent=2) + "\n")
    json_out.close()


if __name__ == "__main__":
    main()
