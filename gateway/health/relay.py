"""Doctor check of [relay]: it answers SMTP, STARTTLS verifies with [relay] ca_file, the login works."""

from __future__ import annotations

import ipaddress
import smtplib
import ssl
from collections.abc import Iterator
from pathlib import Path

from gateway.config import Settings
from gateway.health import Finding

TIMEOUT = 10.0
UNREACHABLE_FIX = "start your MTA or set [relay] host and port; until then mail waits in the outbox and is retried"


def _is_loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == "localhost"


def check_relay(settings: Settings) -> Iterator[Finding]:
    """Talk to the relay as the sender does (EHLO, STARTTLS, AUTH), then QUIT without sending anything."""
    relay = settings.relay
    where = f"{relay.host}:{relay.port}"
    if relay.ca_file and not Path(relay.ca_file).is_file():
        yield Finding("relay", False, f"[relay] ca_file {relay.ca_file} does not exist",
                      "point [relay] ca_file at the PEM file of the CA that signed the relay's certificate")
        return
    try:
        client = smtplib.SMTP(relay.host, relay.port, timeout=min(relay.timeout.total_seconds(), TIMEOUT))
    except (OSError, smtplib.SMTPException) as exc:
        yield Finding("relay", False, f"cannot reach {where}: {exc}", UNREACHABLE_FIX)
        return
    try:
        yield from _converse(client, settings, where)
    finally:
        try:
            client.quit()
        except (OSError, smtplib.SMTPException):
            client.close()


def _converse(client: smtplib.SMTP, settings: Settings, where: str) -> Iterator[Finding]:
    relay = settings.relay
    code, _ = client.ehlo()
    if code != 250:
        yield Finding("relay", False, f"{where} refused EHLO ({code})", "check that it is an SMTP server")
        return
    offers_tls = client.has_extn("starttls")
    if relay.starttls:
        if not offers_tls:
            yield Finding("relay", False, f"{where} does not offer STARTTLS",
                          "enable STARTTLS on the relay, or set [relay] starttls = false on a trusted network")
            return
        try:
            client.starttls(context=ssl.create_default_context(cafile=relay.ca_file or None))
        except ssl.SSLCertVerificationError as exc:
            yield Finding("relay", False, f"{where}: the certificate is not trusted ({exc.verify_message})",
                          "set [relay] ca_file to the CA that signed it, and [relay] host to a name in it")
            return
        except (OSError, ssl.SSLError, smtplib.SMTPException) as exc:
            yield Finding("relay", False, f"{where}: STARTTLS failed ({exc})", "check the relay's TLS setup")
            return
    elif offers_tls and not _is_loopback(relay.host):
        yield Finding("relay", True, f"{where} offers STARTTLS but [relay] starttls = false: mail crosses the "
                      "network in clear text", "set [relay] starttls = true", warning=True)
    if relay.username:
        try:
            client.login(relay.username, relay.password)
        except smtplib.SMTPException as exc:
            yield Finding("relay", False, f"{where} refused the login of {relay.username}: {exc}",
                          "check [relay] username and password")
            return
    how = ", STARTTLS verified" if relay.starttls else ""
    yield Finding("relay", True, f"{where} answers{how}{', login accepted' if relay.username else ''}")
