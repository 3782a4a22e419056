"""TuneLab: adapt open language models to a domain, evaluate them, serve them, ground them in your documents."""

__version__ = "0.1.0"
