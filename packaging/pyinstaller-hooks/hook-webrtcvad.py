"""PyInstaller hook for ``webrtcvad`` as the ``webrtcvad-wheels`` distribution ships it.

The contributed hook copies the metadata of a distribution named ``webrtcvad``, which the wheels' package
does not have (its distribution is ``webrtcvad-wheels``), and the build stops there. This one takes its place.
"""

from PyInstaller.utils.hooks import copy_metadata

datas = copy_metadata("webrtcvad-wheels")
