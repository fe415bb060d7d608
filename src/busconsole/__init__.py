"""busconsole: a terminal debugging console for the store-server event bus."""

__version__ = "0.1.0"
