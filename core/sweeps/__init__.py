"""Sweeps: many settings of one experiment (a grid times seeds) run on this machine's cores or on a
Ray cluster, into one tidy table and the result store the app serves from.

grid.py parses the points, backends.py runs them, run.py stores them as they finish, table.py
makes the table, index.py lists the sweeps for the app, figures.py draws them there, progress.py is
the terminal's bar, command.py is ``python -m core sweep`` (its arguments in arguments.py).
"""
