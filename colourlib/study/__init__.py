"""The study: the parallel matrix (:mod:`.matrix`), running it (:mod:`.runners`) and tabulating it
(:mod:`.parallel`), comparing the colouring models (:mod:`.comparison`), the notebooks papermill executes
(:mod:`.notebooks`) and the whole study as one command (:mod:`.driver`). Imports only the core library."""
