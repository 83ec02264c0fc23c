"""Scoring: grades every enterprise from the events the other services publish (registrations, complaints,
inspections), keeps each grade current as evidence arrives and ages, announces level changes
(GradeChanged), serves grades and risk-ordered lists to regulators, and records the regulators' decisions
on grades (appeals, credit repairs). The offline learning of its scorecard is the `learning` package."""
