"""Visual outputs of a run: image grids, scatter plots, callbacks."""
