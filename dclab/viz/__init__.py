"""Pictures and numbers for the views (app pages): image grids, t-SNE, coverage metrics, figures.

Nothing here imports streamlit; the app renders what these functions return.
"""
