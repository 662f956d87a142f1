"""The test kit's pytest plugin registers its markers (ssh, root, lab, slow) for this package's tests."""

pytest_plugins = ["egressctl_lab.testing.plugin"]
