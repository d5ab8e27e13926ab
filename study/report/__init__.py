"""The report: what the book shows and how it is checked. Tables (:mod:`.tables`), figures (:mod:`.figures`),
the values its prose cites (:mod:`.values`), building and checking the book (:mod:`.book`) and reading it in a
browser (:mod:`.browser`). Imports the study and the core, never the apps."""
