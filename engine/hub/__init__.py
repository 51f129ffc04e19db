"""Models on the Hugging Face Hub, read exactly and sans-IO.

Parsing lives here (``ref``, ``safetensors``, ``ggufread``, ``plan``) and runs unchanged
in CPython and Pyodide; only the byte transport differs (``transport_urllib`` for the CLI,
``fetch`` in the browser worker). Nothing here opens a socket or a file, and nothing is
imported from this package by ``engine`` at import time.
"""
