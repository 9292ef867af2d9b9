"""The conversation on screen: the chat view, message widgets, thinking blocks and the controller that fills them."""
