"""Seeds the test bed's MLflow server with a registered model for the operator tests.

Run with the bed venv's python (up.sh does). Trains a tiny iris classifier and registers it
twice as $BED_MODEL_NAME (default "iris-clf"): version 1 goes to stage Staging, version 2 to
stage Production with alias "champion". If the model already has two or more versions nothing
is changed. Prints a JSON summary on stdout; progress and warnings go to stderr.
"""

import json
import os
import sys
import warnings

MODEL_NAME = os.environ.get("BED_MODEL_NAME", "iris-clf")
EXPERIMENT = "bed-seed"


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


def summary(client, created):
    versions = sorted(
        client.search_model_versions(f"name='{MODEL_NAME}'"), key=lambda v: int(v.version)
    )
    model = client.get_registered_model(MODEL_NAME)
    versions = [client.get_model_version(MODEL_NAME, v.version) for v in versions]  # with aliases
    return {
        "model": MODEL_NAME,
        "created_versions": created,
        "aliases": dict(model.aliases or {}),
        "versions": [
            {
                "version": v.version,
                "stage": v.current_stage,
                "aliases": list(v.aliases or []),
                "source": v.source,
                "run_id": v.run_id,
            }
            for v in versions
        ],
    }


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
    json_out.write(json.dumps(summary(client, created), indent=2) + "\n")
    json_out.close()


if __name__ == "__main__":
    main()
