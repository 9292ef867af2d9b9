"""PyInstaller hook for ``qtawesome`` (pyinstaller-hooks-contrib has none): the window draws its icons from
qtawesome's Material Design Icons 6 font (``app/ui/icons.py`` loads only that one), so the bundle carries that
font, its charmap and qtawesome's licence metadata; qtawesome's eleven other fonts (about 5 MB) stay out.
"""

from PyInstaller.utils.hooks import collect_data_files, copy_metadata

datas = collect_data_files("qtawesome", includes=["fonts/materialdesignicons6-*"]) + copy_metadata("qtawesome")
hiddenimports = ["qtpy"]
