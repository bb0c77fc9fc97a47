"""Which model states a mask grid shows: at most about a dozen columns, evenly spaced and always with the
first and the last state, so that a model of a hundred blocks gives a figure one can read. Curves show
every state; only the grids (and the maps a check keeps for them) are thinned."""
import numpy as np

#: The most model states a mask grid shows (besides its input column).
GRID_STATES = 12


def grid_states(n_states, most=GRID_STATES):
    """Sorted distinct indices into ``n_states`` states: all of them when there are at most ``most``,
    else ``most`` evenly spaced ones including 0 and ``n_states - 1``."""
    n_states, most = int(n_states), max(2, int(most))
    if n_states <= most:
        return list(range(n_states))
    return sorted({int(round(x)) for x in np.linspace(0, n_states - 1, most)})
