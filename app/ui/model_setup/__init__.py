"""Models in the window: the welcome page, the model manager, downloads and the check before loading."""
