"""The study: the parallel matrix (:mod:`.matrix`), timing it (:mod:`.timing`) and tabulating it
(:mod:`.parallel`), the recipe search (:mod:`.recipes`), comparing the colouring models (:mod:`.comparison`), the notebooks papermill executes
(:mod:`.notebooks`) and the whole study as one command (:mod:`.driver`). Imports only the core library."""
