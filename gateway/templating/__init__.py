"""Templates admins control: the shipped catalog, versioned overrides, validation and sandboxed rendering."""
