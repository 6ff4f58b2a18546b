"""Column-balanced sparse weights (docs/program-format.md, *Sparse weight image*).

* :mod:`edgedrnn.sparse.image`: the packed columns (value, row index entries), NumPy only;
* :mod:`edgedrnn.sparse.pruning`: :func:`edgedrnn.prune`, which makes a model balanced
  (needs PyTorch; not imported here).
"""
