"""Imported first by ``app.speech``, before anything loads QtTextToSpeech.

QtTextToSpeech links Qt Multimedia, which says on stderr, as it loads, that the PipeWire library is missing
(then uses PulseAudio): two lines in every ``ask --speak`` on a machine without PipeWire, about nothing wrong.
"""

from __future__ import annotations

from PySide6.QtCore import QLoggingCategory

QLoggingCategory.setFilterRules("qt.multimedia.symbolsresolver=false")
