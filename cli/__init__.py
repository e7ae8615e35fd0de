"""The `fidelity` command line."""
