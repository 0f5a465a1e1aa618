"""Import ``audioop`` once, quietly.

CPython 3.11 and 3.12 ship ``audioop`` with a DeprecationWarning on import (it is removed in
3.13, where the ``audioop-lts`` distribution provides the same module). The warning is about the
stdlib's future, not our use, so it is silenced here and only here.
"""

import warnings

with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)
    import audioop

__all__ = ["audioop"]
