"""The articulated model: part networks, textures, camera (spec §4)."""
