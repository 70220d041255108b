"""Meeting analysis behind one interface: Claude when a key is set, the offline heuristic otherwise."""
