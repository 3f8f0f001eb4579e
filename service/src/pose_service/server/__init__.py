"""How gunicorn runs the service: the process around the Flask app.

- ``gunicorn_conf``: the configuration ``pose-service serve`` hands gunicorn
  (``-c python:pose_service.server.gunicorn_conf``): one worker, threads, timeouts, hooks.
- ``gunicorn_worker``: the gthread worker whose own refusals (414/431) are JSON, with a pool of
  its own for whole ``GET /health`` requests.
- ``http_connections``: which answers close their connection (a body left unread).
- ``wsgi``: the entry point the worker imports (``pose_service.server.wsgi:app``).
"""
