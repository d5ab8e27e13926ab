"""The study beside the colouring library: its one configuration file (:mod:`.config`, ``study.yaml``), the
parallel matrix (:mod:`.matrix`), timing it (:mod:`.timing`) and tabulating it (:mod:`.parallel`), the recipe
search (:mod:`.recipes`), comparing the colouring models (:mod:`.comparison`), the notebooks papermill executes
(:mod:`.notebooks`), the steps of the pipeline that the workflow engine runs (:mod:`.pipeline`, declared in the
checkout's ``Snakefile``) and the report (:mod:`.report`). It imports colourlib; colourlib never imports it."""
