"""VRAM Insight engine: exact GPU-memory estimates for LLM inference and training.

Pure Python, standard library only, so the same code runs in CPython (CLI, site build)
and in Pyodide (the browser calculator). Everything is computed in integer bytes;
conversion to GiB happens only for display (see ``units``).
"""

__version__ = "0.1.0"
