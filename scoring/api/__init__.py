"""The JSON API (Django REST framework): serializers, views and URLs."""
