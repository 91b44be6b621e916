"""Registers a new version of the demo model and prints {"name", "version", "run_id"} as JSON.

    MLFLOW_TRACKING_URI=http://... python -m model.register --name health-predict \\
        --variant good|broken [--alias champion] [--c 1.0]

Run from examples/health-predict with a Python that has MLflow and scikit-learn (the test
bed's venv). "broken" registers a model that loads but cannot serve the app's inputs.
"""

import argparse
import json
import os
import sys
import warnings

from .train import EXPERIMENT, VARIANTS, register_version, stdout_to_stderr


def main(argv=None):
    parser = argparse.ArgumentParser(
        prog="python -m model.register", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--name", default=os.environ.get("BED_DEMO_MODEL", "health-predict"))
    parser.add_argument("--variant", choices=VARIANTS, default="good")
    parser.add_argument("--alias", help="point this alias of the model at the new version")
    parser.add_argument("--c", type=float, default=1.0, help="inverse regularisation strength")
    parser.add_argument("--experiment", default=EXPERIMENT)
    args = parser.parse_args(argv)
    if "MLFLOW_TRACKING_URI" not in os.environ:
        sys.exit("model.register: MLFLOW_TRACKING_URI is not set")
    warnings.filterwarnings("ignore", category=FutureWarning)
    with stdout_to_stderr() as out:
        result = register_version(args.name, args.variant, args.c, args.alias, args.experiment)
        out.write(json.dumps(result) + "\n")


if __name__ == "__main__":
    main()
