"""Public names of a package imported on first access (PEP 562), for flyer's packages.

```python
if TYPE_CHECKING:
    from flyer_cache._cached import cached

__getattr__, __dir__ = lazy.exports(__name__, {"cached": "flyer_cache._cached"})
```

Importing the package then imports none of those modules: a plugin's entry point loads its
own module and what that needs, not the whole package.
"""

from __future__ import annotations

import importlib
import sys
from typing import Any, Callable, List, Mapping, Tuple


def exports(
    package: str, names: Mapping[str, str]
) -> Tuple[Callable[[str], Any], Callable[[], List[str]]]:
    """A module's `__getattr__` and `__dir__`: `names` maps each public name to the module
    that defines it. A name is imported once, when first read, then kept in the module."""
    module = sys.modules[package]

    def __getattr__(name: str) -> Any:
        where = names.get(name)
        if where is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(where), name)
        setattr(module, name, value)
        return value

    def __dir__() -> List[str]:
        return sorted(set(vars(module)) | set(names))

    return __getattr__, __dir__
