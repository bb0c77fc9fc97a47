"""Experiments: each runs over a model (or two) and returns tidy rows plus what the figures need.

- ``model_randomization``: cascading / independent parameter randomization (and the noise test)
- ``data_randomization``: a true-label model against a model trained on permuted labels
- ``results``: tidy rows -> CSV, JSON summary (mean and std per method, step and metric)
"""
