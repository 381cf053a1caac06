"""The gateway's small error hierarchy."""


class GatewayError(Exception):
    """Base of every error the gateway raises on purpose."""


class ConfigError(GatewayError):
    """The config file or an environment override is wrong; the message says how to fix it."""


class StorageError(GatewayError):
    """The store could not durably keep something; the sender should retry later."""
