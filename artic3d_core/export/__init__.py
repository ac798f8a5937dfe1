"""Exports: textured OBJ/GLB meshes, turntable GIFs."""
