"""The articulated model: part networks, textures, camera (docs/method.md §4)."""
