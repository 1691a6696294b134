"""Engine, sessions, table models and repositories."""
