"""Stage 1: the ways mail comes in (SMTP, pipe, IMAP), all ending in accept()."""
