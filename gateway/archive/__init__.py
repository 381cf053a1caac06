"""Export and import of conversations: JSON Lines and mbox out, mbox and Maildir in."""
