"""PyInstaller hook for ``ziamath`` (LaTeX math in answers): its STIX Two Math font is package data.

ziamath opens ``ziamath/fonts/STIXTwoMath-Regular.ttf`` next to its modules when first imported; without it
every formula would show as its source. latex2mathml's symbol table and ziafont's fallback font ride along.
"""

from PyInstaller.utils.hooks import collect_data_files

datas = collect_data_files("ziamath") + collect_data_files("latex2mathml") + collect_data_files("ziafont")
hiddenimports = ["latex2mathml.converter", "ziafont"]
