"""Did a change make the API faster? Interleaved pairs of runs, their statistics, the report."""
