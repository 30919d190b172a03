"""``/image``: Glance's v2 images API, list and show, over the world's images (``app``)."""
