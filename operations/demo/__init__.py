"""Demo data: a synthetic province whose enterprises have a hidden integrity that drives their history."""
