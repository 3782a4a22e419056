"""Evaluation: metrics (pure functions), runners, LLM-as-judge and reports."""
