"""What the CLI tests share: an environment that points the commands at the test's store."""

from __future__ import annotations

import pytest

from tests.conftest import SECRET


@pytest.fixture
def env(database_url, store, monkeypatch) -> dict[str, str]:  # store: the database `gateway init` made
    """The variables a command needs to use this test's store, with the settings fixture's addresses and secret."""
    monkeypatch.delenv("GATEWAY_CONFIG", raising=False)
    return {"GATEWAY_DATABASE_URL": database_url, "GATEWAY_MAIL_SECRET": SECRET,
            "GATEWAY_MAIL_ADDRESSES": "support@example.com,billing@example.com"}
