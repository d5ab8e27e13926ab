"""The data a colouriser learns from: photo sets and their splits (:mod:`.photos`), augmented crops
(:mod:`.augment`) and the batches ``fit`` reads (:mod:`.dataset`)."""
