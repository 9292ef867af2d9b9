"""Where a message is written: the text box, attachment chips and the screenshot quick action."""
