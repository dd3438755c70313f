"""Tomography: formats, phantom, preprocessing, centre, alignment, reconstruction, app."""
