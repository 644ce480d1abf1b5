"""Learning from review: reviewed documents become training data, a model trained on them is
kept only when it beats the current one on held-back reviewed documents (`folio train`).

- `form_examples`: form segments of reviewed pages with the labels the reviewers left.
- `fit`: a small classifier fitted with torch (CPU or GPU), applied with numpy.
- `registry`: model versions in the workspace (`<workspace>/models/<task>/<version>/`), the
  active one, and the pipeline configuration that uses it.
- `train`: the loop end to end.
"""
