from django.urls import path

from frontend import views

app_name = "frontend"

urlpatterns = [
    path("", views.LiveAgentView.as_view(), name="live"),
    path("strategies/", views.StrategiesView.as_view(), name="strategies"),
    path("lab/", views.LabView.as_view(), name="lab"),
    path("calibration/", views.CalibrationView.as_view(), name="calibration"),
    path("research/", views.TabView.as_view(tab="research"), name="research"),
    path("chat/", views.TabView.as_view(tab="chat"), name="chat"),
    path("training/", views.TabView.as_view(tab="training"), name="training"),
]
