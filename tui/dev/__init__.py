"""The local development loop (`durable-tui dev`): a worker on any application's modules that restarts on
every save, the embedded Postgres, and the dashboard; `durable-tui demo` is one user of it.

- `target.py`: where a module name or a `.py` path lives, found without importing it.
- `status.py`: the worker's status file (ready, reloading, the import error to show) and the session
  object the dashboard reads it through.
- `worker.py`: one worker process (imports the modules, launches an Engine under a stable executor id).
- `supervisor.py`: restarts the worker on a save under the watched directories, and after a crash.
- `launcher.py`: the embedded Postgres, the supervisor in its own process group, the dashboard; stops all.
"""
