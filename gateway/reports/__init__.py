"""`gateway report`: product measures computed by pure functions over rows that SQL has already counted."""
