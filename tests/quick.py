"""Cheap settings per page, so AppTest can exercise every control without minutes of training.

Each entry is a URL query string's worth of overrides applied before the page first runs.
"""

QUICK = {
    "optimization": {"widths": "10, 50", "steps": "200", "n": "40"},
    "scaling": {"widths": "8, 16", "batch": "32"},
    "implicit-bias": {"steps": "300"},
    "benign-overfitting": {"p": "600", "repeats": "2"},
    "lazy-training": {"widths": "16, 64", "steps": "50", "n": "16"},
    "double-descent": {"n": "40", "points": "12", "repeats": "2"},
    "width-depth": {"budget": "1000", "depths": "1, 4", "steps": "100", "n": "40"},
    "mode-connectivity": {"width": "32", "sweep_widths": "8, 16", "steps": "300", "curve_steps": "50", "points": "7"},
    "lottery-ticket": {"hidden": "16", "rounds": "2", "steps": "50", "repeats": "1"},
}
