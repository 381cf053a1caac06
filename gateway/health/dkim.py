"""Doctor check of DKIM signing: the key loads, and the DNS TXT record to publish for it."""

from __future__ import annotations

from collections.abc import Iterator

from gateway.config import Settings
from gateway.errors import ConfigError
from gateway.health import Finding
from gateway.outbound.dkim import dns_record


def check_dkim(settings: Settings) -> Iterator[Finding]:
    """Signing is on with a usable key; the detail line is the record to publish."""
    dkim = settings.dkim
    if not dkim.private_key:
        yield Finding("dkim", True, "off: mail is sent unsigned (set [dkim] domain, selector and private_key)")
        return
    try:
        name, value = dns_record(dkim)
    except ConfigError as exc:
        yield Finding("dkim", False, str(exc), "point [dkim] private_key at a readable PEM RSA key")
        return
    yield Finding("dkim", True, f"signing as d={dkim.domain} s={dkim.selector}; publish this DNS record: "
                                f"{name}. IN TXT \"{value}\"")
