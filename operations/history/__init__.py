"""History import and export: events as CloudEvents JSON lines, the way a region migrates its past."""
