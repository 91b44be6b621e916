"""`python -m app`: serves the app with uvicorn on 0.0.0.0:$PORT (8080)."""

import logging
import os

import uvicorn


class SkipHealthChecks(logging.Filter):
    """Readiness probes hit /health every few seconds; keep them out of the access log."""

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args if isinstance(record.args, tuple) else ()
        return not (len(args) >= 3 and str(args[2]).startswith("/health"))


def main() -> None:
    logging.getLogger("uvicorn.access").addFilter(SkipHealthChecks())
    uvicorn.run(
        "app.main:app",
        host=os.environ.get("HOST", "0.0.0.0"),
        port=int(os.environ.get("PORT", "8080")),
        log_level=os.environ.get("LOG_LEVEL", "info"),
    )


if __name__ == "__main__":
    main()
