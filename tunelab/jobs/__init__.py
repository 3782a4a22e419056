"""Every long task as a restart-safe background job: a persistent queue in the store (`service.py`),
the kinds of job and how each one's input is validated when it is submitted (`kinds.py`), workers
that run each job in a subprocess of its own and heartbeat it (`worker.py`, `runner.py`)."""
