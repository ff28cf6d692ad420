"""The contracts the platform ships. Each is deterministic and runs on any peer."""
