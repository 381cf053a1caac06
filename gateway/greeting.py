"""The name a mail to a customer greets them by, from the display name their mail client sent."""

from __future__ import annotations

# A title is not a first name: "Dr. Anne Smith" is greeted "Hi Anne,".
_TITLES = {"dr", "mr", "mrs", "ms", "miss", "mx", "prof", "sir", "herr", "frau", "m", "mme", "mlle", "sr", "sra"}
# A mailbox named for a role or a team has no first name: "Hi info," or "Hi Support," reads as a machine's.
_ROLES = {"info", "support", "admin", "administrator", "sales", "team", "office", "contact", "billing", "service",
          "customer", "accounts", "accounting", "helpdesk", "hello", "mail", "webmaster", "noreply", "no-reply"}


def greeting_name(display_name: str) -> str:
    """Their first name ("Anne" from "Anne Example", "Example, Anne" or "DR. ANNE EXAMPLE"); "" when the display
    name names no one (none at all, the address again, a role like "info"), so the template greets without one."""
    name = display_name.strip().strip("\"'").strip()
    if "@" in name:  # Many clients send the address as the name: "Hi anne@customer.example," reads as a machine's.
        return ""
    family, comma, given = name.partition(",")
    words = (given if comma and given.strip() else family).split()
    while words and words[0].rstrip(".").lower() in _TITLES:
        words = words[1:]
    if not words or words[0].lower() in _ROLES or any(w.lower() in _ROLES for w in words[1:2]):
        return ""
    first = words[0]
    # A name typed in capitals is shouted, not spelled so; initials ("JD Example") are kept as they are.
    return first.capitalize() if name.isupper() and len(first) > 2 else first
