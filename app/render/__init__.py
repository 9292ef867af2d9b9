"""Turning model text into something to show, without Qt: markdown to HTML and artifact detection."""
