"""Chat presets in the window: the chat header with its set-up and editor, New chat ▾, Settings → Presets."""
