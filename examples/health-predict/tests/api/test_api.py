"""The health-predict API contract, tested from outside against SERVICE_URL."""

import os

import pytest

VALID = {
    "age": 54,
    "bmi": 27.5,
    "systolic_bp": 135,
    "sex": "F",
    "smoker": "no",
    "activity": "moderate",
}

# Both ends of every range are valid inputs; one step past either end is not.
EDGES = [
    ("age", 18),
    ("age", 100),
    ("bmi", 10.0),
    ("bmi", 60.0),
    ("systolic_bp", 70),
    ("systolic_bp", 250),
    ("sex", "F"),
    ("sex", "M"),
    ("smoker", "no"),
    ("smoker", "yes"),
    ("activity", "low"),
    ("activity", "moderate"),
    ("activity", "high"),
]
OUT_OF_RANGE = [
    ("age", 17),
    ("age", 101),
    ("bmi", 9.9),
    ("bmi", 60.1),
    ("systolic_bp", 69),
    ("systolic_bp", 251),
    ("activity", "extreme"),
]


def ids(cases):
    return [f"{field}={value}" for field, value in cases]


def predict(client, body):
    return client.post("/predict", json=body)


def said(r):
    """The answer in a few words, most telling first: pytest -rA cuts failure lines at 80."""
    try:
        body = r.json()
    except ValueError:
        body = None
    if isinstance(body, dict) and "error" in body:
        return f"{r.status_code} {body['error']}: {body.get('detail')}"[:300]
    return f"{r.status_code} {r.text[:300]}"


def test_health(client):
    r = client.get("/health")
    assert r.status_code == 200, said(r)
    model = r.json()["model"]
    expected = os.environ.get("MODEL_VERSION")
    if expected:
        assert model["version"] == expected, f"version {model['version']}, want {expected}"


def test_predict(client):
    r = predict(client, VALID)
    assert r.status_code == 200, said(r)
    body = r.json()
    assert body["risk"] in ("low", "high")
    assert body["probability"] is None or 0.0 <= body["probability"] <= 1.0


@pytest.mark.parametrize("field,value", EDGES, ids=ids(EDGES))
def test_edge(client, field, value):
    r = predict(client, {**VALID, field: value})
    assert r.status_code == 200, said(r)


def test_missing_field(client):
    body = {k: v for k, v in VALID.items() if k != "age"}
    r = predict(client, body)
    assert r.status_code == 422, said(r)


def test_wrong_type(client):
    r = predict(client, {**VALID, "age": "fifty"})
    assert r.status_code == 422, said(r)


def test_malformed_json(client):
    r = client.post(
        "/predict", content=b'{"age": 54,', headers={"content-type": "application/json"}
    )
    assert r.status_code == 422, said(r)


def test_not_a_number(client):
    # Python's JSON parser takes NaN; the API must still refuse it, and answer in valid JSON.
    body = b'{"age": 54, "bmi": NaN, "systolic_bp": 135, "sex": "F", "smoker": "no", "activity": "low"}'
    r = client.post("/predict", content=body, headers={"content-type": "application/json"})
    assert r.status_code == 422, said(r)
    r.json()


@pytest.mark.parametrize("field,value", OUT_OF_RANGE, ids=ids(OUT_OF_RANGE))
def test_out_of_range(client, field, value):
    r = predict(client, {**VALID, field: value})
    assert r.status_code == 422, said(r)
