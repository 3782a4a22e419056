"""Recipes: multi-step workflows over the library, one module each (the quickstart: train, evaluate,
report). Entry points (`tunelab.cli`, `tunelab.serve`) call them and the library never imports them.
Not the training recipes of `tunelab.train` (one YAML config each, run by `run_recipe`)."""
