"""Real-time: the Socket.IO server, rooms, and (later) events and publishing."""
