"""The incident TUI (Textual). Build it with :func:`egressctl.tui.app.make_app`."""
