"""Shortcuts: global and message shortcuts (manifest `features.shortcuts`)."""
