"""The DRF API v1: serializers, views and URLs over the scoring services and selectors."""
