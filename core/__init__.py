"""The science of Overparameterization Lab: experiments, the training engine, the CLI.

Importing ``core`` first sets how OpenMP threads wait, before torch loads its OpenMP runtime (which
reads the setting once). Spinning threads are fast on an idle machine and ruinous on a shared one:
on this 2-core machine under load (load average 7), an optimization run of 0.3 s on one thread
took 2.5-52 s on two spinning threads and 0.35-0.40 s on two passive ones (see the README's
"under load"). A user's own OMP_WAIT_POLICY wins.
"""

import os

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
