"""Ecosystem adapters: thin translators between a host library's types and `KronosPipeline`.

Import the one you need (``from kronos_plugins.adapters.darts import KronosModel``); each needs its extra
(``pip install 'kronos-plugins[darts]'``, ``[sktime]``, ``[gluonts]``). Nothing here is imported by the core.
"""
