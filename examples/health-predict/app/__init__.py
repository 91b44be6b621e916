"""The health-predict serving app (FastAPI); `python -m app` runs it."""
