"""The dispatch desk (立体防控 · 接处警 · 非警务联动): calls, triage, unit recommendation.

So far this package holds the desk's algorithms (pure functions over plain data); its
tables, service, routes and page panel are not built yet, so it is not in
:data:`pingan.assembly.MODULE_PATHS`.
"""
