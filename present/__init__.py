"""Presentation of engine results: SVG charts and exports (JSON, CSV, Markdown).

Kept beside the engine, not inside it, so formulas never depend on how they are drawn.
The site build and the browser worker both call these functions, so a precomputed page
and the live calculator draw byte-identical charts. Input is the schema-1 result dict
from ``engine.api``; output is text.
"""
