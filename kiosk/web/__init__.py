"""The hall's HTTP server: HTTP/1.1 over asyncio with h11, the Flask app run on worker threads, live event
streams written from the event loop, and limits per client so that no single client can stop the hall.

- :mod:`.limits` — what one client address and all clients together may hold, and how long a request may take.
- :mod:`.wsgi` — a request as a WSGI environ, the app's answer, and the JSON errors the server itself gives.
- :mod:`.connection` — one client connection: reading requests with deadlines, answering, parking a stream.
- :mod:`.streams` — the open event streams, sent from the loop thread.
- :mod:`.server` — the listening socket, the loop thread, the worker threads, start and stop.

docs/architecture.md ("The HTTP server") says why the hall has its own server on h11 rather than waitress.
"""
