"""The HTTP server: a thin adapter over the same services the command line calls.

``app.create_app`` builds the Starlette application; ``pathway serve`` runs it on uvicorn.
Handlers are plain functions (Starlette runs them in its thread pool), so the
synchronous SQLAlchemy sessions and the argon2 checks never block the event loop.
"""
