"""The demo health-risk model: synthetic training data and MLflow registration."""
