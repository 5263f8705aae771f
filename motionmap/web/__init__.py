"""The artist preview page (``motionmap demo``): a local, offline web page to try motion transfers.

:mod:`~motionmap.web.server` is the HTTP layer (stdlib ``http.server``, no extra dependency; its docstring lists the
JSON API and the modules by job), :mod:`~motionmap.web.routes` the requests, :mod:`~motionmap.web.state` the session
state, :mod:`~motionmap.web.examples` the built-in synthetic examples, ``static/`` the page (HTML, vanilla JS, CSS).

>>> from motionmap.web import DemoConfig, make_server, serve_in_thread       # doctest: +SKIP
>>> server = make_server(DemoConfig(port=0, checkpoint="model.ckpt"))          # doctest: +SKIP
>>> serve_in_thread(server); print(server.url)                                 # doctest: +SKIP
"""

from motionmap.web.config import DemoConfig
from motionmap.web.responses import Response
from motionmap.web.routes import DemoApp
from motionmap.web.server import DemoServer, make_server, serve_in_thread

__all__ = ["DemoApp", "DemoConfig", "DemoServer", "Response", "make_server", "serve_in_thread"]
