"""The client side of the Model Context Protocol: server settings, and one client per server."""
