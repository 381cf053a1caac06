"""Stage 4: de-duplicate, then find the conversation a message belongs to."""
