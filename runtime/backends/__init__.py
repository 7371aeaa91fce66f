"""Execution backends of the runtime (DESIGN.md §8).

``reference`` is the NumPy oracle: the semantics of every ``nn`` op, against which every
other backend is tested.
"""
