"""The programs: one command tree (:mod:`.cli`: ``colourlib study | train | parallel | colourise | bench |
check``), ``colourise`` (also its own console script) and the benchmarks."""
