"""Every shape the API and the real-time events show or accept, declared once (pydantic)."""
