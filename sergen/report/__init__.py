"""Reports: tables in the poster's shape, heatmaps and plots, Markdown."""
