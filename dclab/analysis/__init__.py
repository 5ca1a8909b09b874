"""Analyses over finished runs: the payoff chart, the coverage timeline, the comparison report."""
