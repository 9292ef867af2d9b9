"""The window's frame: the application object, main window, theme, sidebar, status and notice bars, settings."""
