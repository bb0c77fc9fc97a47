"""The data sets this toolkit knows: their names, aliases and class names."""
from ..errors import DataError

NAMES = ("mnist", "fashion")
ALIASES = {"fmnist": "fashion"}

CLASS_NAMES = {
    "mnist": [str(d) for d in range(10)],
    "fashion": ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"],
}


def canonical_name(name):
    """Return ``'mnist'`` or ``'fashion'`` for an accepted name ('fmnist' is an alias of 'fashion').

    Raises DataError listing the valid names otherwise.
    """
    key = str(name).strip().lower()
    key = ALIASES.get(key, key)
    if key not in NAMES:
        valid = ", ".join(NAMES + tuple(ALIASES))
        raise DataError(f"unknown data set {name!r}: valid names are {valid}")
    return key
