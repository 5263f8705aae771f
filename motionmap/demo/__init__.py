"""The artist preview page (``motionmap demo``): a local, offline web page to try motion transfers.

:mod:`~motionmap.demo.server` is the HTTP layer (stdlib ``http.server``, no extra dependency; its docstring lists the
JSON API and the modules by job), :mod:`~motionmap.demo.routes` the requests, :mod:`~motionmap.demo.state` the session
state, :mod:`~motionmap.demo.examples` the built-in synthetic examples, ``static/`` the page (HTML, vanilla JS, CSS).

>>> from motionmap.demo import DemoConfig, make_server, serve_in_thread       # doctest: +SKIP
>>> server = make_server(DemoConfig(port=0, checkpoint="model.ckpt"))          # doctest: +SKIP
>>> serve_in_thread(server); print(server.url)                                 # doctest: +SKIP
"""

from motionmap.demo.config import DemoConfig
from motionmap.demo.responses import Response
from motionmap.demo.routes import DemoApp
from motionmap.demo.server import DemoServer, make_server, serve_in_thread

__all__ = ["DemoApp", "DemoConfig", "DemoServer", "Response", "make_server", "serve_in_thread"]
