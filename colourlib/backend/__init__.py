"""How Keras runs on this machine: the CPU runtime (:mod:`.runtime`: allocator and thread pools, set and recorded),
the devices data-parallel replicas train on (:mod:`.replicas`), and every private Keras or JAX name the project
relies on, each with a canary test (:mod:`.keras_internals`)."""
