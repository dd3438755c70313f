"""The plug-in kit: ``daisy plugin new NAME --lang python|cpp|fortran`` (see :mod:`.scaffold`).

A plug-in is an ordinary Python package that registers :class:`~daisy_widgets.core.Algorithm`
classes through the ``daisy.algorithms`` entry-point group; its work may be done by a
compiled C++ (nanobind, scikit-build-core) or Fortran (F2PY, meson-python) kernel.
"""

from .scaffold import LANGUAGES, PluginProjectError, new_plugin

__all__ = ["LANGUAGES", "PluginProjectError", "new_plugin"]
