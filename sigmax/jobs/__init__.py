"""Ray job entry points: ``python -m sigmax.jobs.NAME`` as the entrypoint of ``ray job submit``.

Each entry point connects to the job's cluster (``RAY_ADDRESS``, set by Ray for a
submitted job) and otherwise runs like the matching ``sigmax`` command.
"""
