"""Auto-replies: when one is due, and what it honestly says (hours, reply times, self-help, incidents)."""
