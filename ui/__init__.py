"""Shared Streamlit pieces of the app (not pages): `state` (registries, runs, errors), `widgets` (forms, panels)."""
