from django.urls import path

from kehu.workflow import views

urlpatterns = [
    path("inbox/", views.inbox, name="workflow_inbox"),
    path("inbox/tasks/<int:pk>/done/", views.task_acknowledge, name="workflow_task_acknowledge"),
    path("workflow/cases/", views.case_list, name="workflow_case_list"),
    path("workflow/cases/<int:pk>/", views.case_detail, name="workflow_case_detail"),
    path(
        "workflow/cases/<int:pk>/transitions/<slug:key>/",
        views.case_transition,
        name="workflow_case_transition",
    ),
    path("workflow/definitions/", views.definition_list, name="workflow_definition_list"),
    path("workflow/definitions/<slug:key>/", views.definition_detail, name="workflow_definition_detail"),
    path(
        "workflow/versions/<int:pk>/request-formal/",
        views.definition_version_request,
        name="workflow_version_request",
    ),
    path("workflow/monitoring/", views.monitoring_page, name="workflow_monitoring"),
]
