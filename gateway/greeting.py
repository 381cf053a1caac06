"""The name a mail to a customer greets them by, from the display name their mail client sent."""

from __future__ import annotations


def greeting_name(display_name: str) -> str:
    """Their first name ("Anne" from "Anne Example" or "Example, Anne"); "" when the display name names no one
    (none at all, or the address again), so the template greets without a name."""
    name = display_name.strip().strip("\"'").strip()
    if "@" in name:  # Many clients send the address as the name: "Hi anne@customer.example," reads as a machine's.
        return ""
    family, comma, given = name.partition(",")
    words = (given if comma and given.strip() else family).split()
    return words[0] if words else ""
