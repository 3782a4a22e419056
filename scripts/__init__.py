"""Maintainer scripts run from a checkout of the repository (`python -m scripts.<name>` from its
root); they are not part of the installed `tunelab` package and nothing in it imports them."""
