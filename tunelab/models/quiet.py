"""Third-party notices a user cannot act on, silenced once at the start of a process (the CLI, a
job's runner): bitsandbytes' optional CPU kernel package and transformers' deprecation notices
about calls made inside peft."""

from __future__ import annotations

import logging
import warnings


def quiet_libraries() -> None:
    logging.getLogger("bitsandbytes").setLevel(logging.ERROR)
    warnings.filterwarnings("ignore", category=FutureWarning, module=r"transformers\.")
