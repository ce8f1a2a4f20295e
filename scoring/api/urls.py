"""URLs of the API v1 (mounted at /api/v1/); anything else under /api/ answers a problem 404."""

from django.urls import include, path, re_path
from django.utils import translation
from django.utils.translation import gettext
from django.views.decorators.csrf import csrf_exempt
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from scoring.api import views
from scoring.api.base import KnownQueryParameters
from scoring.api.lifecycle import ModelReloadApi
from scoring.api.model_cards import ModelCardApi
from scoring.api.notices import PredictionNoticeApi
from scoring.api.offers import PredictionAlternativesApi
from scoring.api.outcomes import OutcomeCreateApi
from scoring.api.performance import ActiveModelPerformanceApi, ModelPerformanceApi
from scoring.api.problems import problem_response

app_name = "api"


@csrf_exempt  # a 404 for any method: the CSRF check must not answer first with an HTML 403
def not_found(request, *args, **kwargs):
    return problem_response(404, gettext("There is no API endpoint at this address; see /api/v1/docs/."))


class SchemaApi(KnownQueryParameters, SpectacularAPIView):
    query_parameters = frozenset({"format", "lang"})

    def dispatch(self, request, *args, **kwargs):
        # The schema is the API's contract: English whatever the reader's language (only an explicit ?lang=
        # asks for another). Rendered here, so no lazy text is turned into words after the override ends.
        with translation.override("en"):
            response = super().dispatch(request, *args, **kwargs)
            if callable(getattr(response, "render", None)):
                response.render()
        return response


class DocsPage(KnownQueryParameters, SpectacularSwaggerSplitView):
    query_parameters = frozenset({"script"})  # the page loads its script from ?script=


urlpatterns = [
    path("v1/score", views.ScoreApi.as_view(), name="score"),
    path("v1/score/many", views.ScoreManyApi.as_view(), name="score-many"),
    path("v1/predictions", views.PredictionListApi.as_view(), name="prediction-list"),
    path("v1/predictions/<int:pk>", views.PredictionDetailApi.as_view(), name="prediction-detail"),
    path("v1/predictions/<int:pk>/reviews", views.ReviewCreateApi.as_view(), name="review-create"),
    path("v1/predictions/<int:pk>/notice", PredictionNoticeApi.as_view(), name="prediction-notice"),
    path("v1/predictions/<int:pk>/alternatives", PredictionAlternativesApi.as_view(), name="prediction-alternatives"),
    path("v1/models", views.ModelListApi.as_view(), name="model-list"),
    path("v1/models/active", views.ModelActiveApi.as_view(), name="model-active"),
    path("v1/models/active/performance", ActiveModelPerformanceApi.as_view(), name="model-active-performance"),
    path("v1/models/<int:pk>/performance", ModelPerformanceApi.as_view(), name="model-performance"),
    path("v1/models/reload", ModelReloadApi.as_view(), name="model-reload"),
    path("v1/outcomes", OutcomeCreateApi.as_view(), name="outcome-create"),
    path("v1/models/<int:model_version_id>/card", ModelCardApi.as_view(), name="model-card"),
    path("v1/", include("scoring.api.batch_urls")),
    path("v1/schema/", SchemaApi.as_view(), name="schema"),
    path(
        "v1/docs/",
        DocsPage.as_view(url_name="api:schema", template_name="scoring/api/swagger_ui.html"),
        name="docs",
    ),
    re_path(r"^.*$", not_found, name="not-found"),
]
