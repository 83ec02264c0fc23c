"""The inspections service: 双随机、一公开 risk-based inspection. Regulators keep a roster of inspectors and
draw inspection plans (which enterprises, by which inspectors) at random, weighted by each enterprise's
grade, from a seed anyone can re-run; assigned inspectors record results and rectifications, which become
events for scoring, and results are published after a set number of working days. What it knows of
enterprises, grades and complaints is a local copy fed by their events."""
