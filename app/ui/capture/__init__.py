"""Camera, microphone and playback: push-to-talk, the camera panel, the clip player."""
