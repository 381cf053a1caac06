"""Real mail servers (Dovecot, Postfix) started by tests on loopback ports with throwaway configs."""
