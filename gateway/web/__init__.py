"""The small web endpoint inside `gateway serve`: survey rating and opt-out pages, and /healthz."""
