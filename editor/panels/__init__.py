"""The dockable panels around the canvas: palette, properties, problems, code view, gallery."""
