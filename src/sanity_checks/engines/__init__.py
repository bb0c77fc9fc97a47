"""Engines behind the model contract (``sanity_checks.contract``).

- TensorFlow: :class:`sanity_checks.model.GraphModel` (one graph and session per model; our networks in
  ``models/``, Inception v3, users' Keras files), with two pieces of its own here: ``tf_initializers``
  (seeded re-draws from a variable's own initializer) and ``tf_shift`` (the input-invariance shift
  compensated in the first layer).
- numpy: ``numpy_mlp``, a small ReLU network with analytic gradients. It needs no framework at all,
  which is what proves that the methods, checks and runners depend on the contract only; it is also the
  fastest model the tests have.
"""
