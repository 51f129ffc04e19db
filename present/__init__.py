"""Presentation of engine results: the results panel, its chart, and exports (JSON, CSV,
Markdown).

Kept beside the engine, not inside it, so formulas never depend on how they are drawn, and
nothing here decides anything: figures and the fit verdict (``details.fit``) are the
engine's. The site build and the browser worker both call ``present.render``, so a
precomputed page and the live calculator show the same HTML for the same result. Input is
the schema-1 result dict from ``engine.api``; output is text. Modules: ``labels`` (the one
component label table, msgids), ``palette`` (colours), ``fit`` (the verdict's display
shape), ``chart`` (SVG), ``render`` (panel + chart, the worker entry), ``export``.
"""
