"""Login, logout and password change (Django's auth views with our templates); profile and language."""

from django.contrib.auth import views as auth_views
from django.urls import path

from accounts import views

urlpatterns = [
    path("login/", auth_views.LoginView.as_view(redirect_authenticated_user=True), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("password_change/", views.PasswordChangeView.as_view(), name="password_change"),
    path("password_change/done/", views.PasswordChangeDoneView.as_view(), name="password_change_done"),
]

# /account/: the signed-in user's own settings (namespace "accounts").
profile_urlpatterns = [
    path("profile/", views.profile_view, name="profile"),
    path("language/", views.language_view, name="language"),
]
