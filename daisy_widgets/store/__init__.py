"""Data-store client: local HDF5/FITS and the remote data service (Tiled)."""
