"""Doctor check of the config: it loaded (else doctor never got here), and nothing is left at an example value."""

from __future__ import annotations

from collections.abc import Iterator

from gateway.config import Settings
from gateway.health import Finding

# Secrets people copy from examples and tutorials; anyone could forge reply tokens with them.
WEAK_SECRETS = {"secret", "changeme", "change-me", "test", "password", "example", "gateway"}
MIN_SECRET = 16


def check_config(settings: Settings) -> Iterator[Finding]:
    """Warn about settings that work on a laptop but not in front of real customers."""
    changed = sum(1 for _, source in settings.sources)
    yield Finding("config", True, f"loaded; {changed} key{'s' if changed != 1 else ''} set by the file or the "
                  "environment, the rest are defaults")
    example = [a for a in (settings.mail.domain, *settings.mail.addresses) if a.lower().endswith("example.com")]
    if example:
        yield Finding("config", True, f"[mail] still uses example.com ({', '.join(example)})",
                      "set [mail] domain and addresses to your own support address", warning=True)
    secret = settings.mail.secret
    if secret and (secret.lower() in WEAK_SECRETS or len(secret) < MIN_SECRET):
        weak = "a well-known word" if secret.lower() in WEAK_SECRETS else "short"
        yield Finding("config", True, f"[mail] secret is {weak}; anyone who guesses it can forge replies into "
                      "conversations",
                      "set [mail] secret to 32+ random characters (`openssl rand -hex 32`), or leave it empty to "
                      "have one generated and kept in the database", warning=True)
    if not settings.mail.admins:
        yield Finding("config", True, "[mail] admins is empty: nobody is told when automatic mail to a looping "
                      "address stops", "set [mail] admins = [\"ops@your-domain\"]", warning=True)
    if not settings.authentication.authserv_id:
        yield Finding("config", True, "[authentication] authserv_id is empty: an agent's reply is trusted on its From "
                      "header and reply address alone, so whoever learns an agent's reply address can answer "
                      "customers in that agent's name",
                      "set it to the authserv-id your MTA writes in Authentication-Results (often its host name), "
                      "so a reply that fails DMARC is quarantined", warning=True)
