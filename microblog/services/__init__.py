"""Every state change lives here, once. Handlers (pages, API, sockets) call these."""
