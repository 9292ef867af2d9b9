"""The live preview of generated pages: the pane, its sandbox and its network gate."""
