"""The renderer: image sizes, blur, faces per pixel (docs/method.md §5)."""
