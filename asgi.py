"""The ASGI application: Socket.IO wrapped around Quart. `hypercorn asgi:app`."""

from microblog import asgi_app, create_app

app = asgi_app(create_app())
