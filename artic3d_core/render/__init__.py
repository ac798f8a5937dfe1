"""The renderer: image sizes, blur, faces per pixel (spec §5)."""
