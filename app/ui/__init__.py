"""The Qt user interface: the only package where Qt widgets live."""
