"""The demo model's inputs and the synthetic patients it is trained on.

The serving app (app/schema.py) and its API tests (tests/api/) state the same inputs and
ranges on their own: the app is the contract, this module only has to agree with it.
"""

import numpy as np
import pandas as pd

# name -> (low, high, dtype); the app accepts exactly these closed ranges.
NUMERIC = {
    "age": (18, 100, "int64"),
    "bmi": (10.0, 60.0, "float64"),
    "systolic_bp": (70, 250, "int64"),
}
CATEGORICAL = {
    "sex": ["F", "M"],
    "smoker": ["no", "yes"],
    "activity": ["low", "moderate", "high"],
}
# The "broken" variant is trained with this extra input, which the app never sends: the
# model loads fine and then fails every prediction the app asks for.
BROKEN_EXTRA = {"cholesterol": (100, 400, "int64")}

LABELS = ("low", "high")  # risk classes; "high" is the positive class


def synthetic_patients(rows=2000, seed=7, extra_numeric=None):
    """Deterministic patients (features, risk labels); the same arguments give the same data."""
    numeric = {**NUMERIC, **(extra_numeric or {})}
    rng = np.random.default_rng(seed)
    cols = {}
    for name, (low, high, dtype) in numeric.items():
        values = rng.uniform(low, high, rows)
        cols[name] = np.round(values).astype(dtype) if dtype == "int64" else np.round(values, 1)
    for name, levels in CATEGORICAL.items():
        cols[name] = rng.choice(levels, rows)
    x = pd.DataFrame(cols)

    # A made-up risk score: older, heavier, higher blood pressure, smoking and little
    # activity raise it. Noise keeps the classes overlapping, as real data would.
    score = (
        0.045 * (x["age"] - 55)
        + 0.08 * (x["bmi"] - 30)
        + 0.025 * (x["systolic_bp"] - 140)
        + 1.2 * (x["smoker"] == "yes")
        + 0.3 * (x["sex"] == "M")
        + x["activity"].map({"low": 0.7, "moderate": 0.0, "high": -0.7})
    )
    for name, (low, high, _) in (extra_numeric or {}).items():
        score = score + 2.0 * (x[name] - low) / (high - low) - 1.0
    p_high = 1.0 / (1.0 + np.exp(-score.to_numpy(dtype=float)))
    y = np.where(rng.uniform(0.0, 1.0, rows) < p_high, LABELS[1], LABELS[0])
    return x, pd.Series(y, name="risk")
