"""The filter language, split into small modules; import it from :mod:`busconsole.filters`."""
