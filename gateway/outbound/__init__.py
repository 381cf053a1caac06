"""Stage 6 and after: compose what we send, keep it in the outbox, deliver it through the relay."""
