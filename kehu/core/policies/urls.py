from django.urls import path

from kehu.core.policies import views

urlpatterns = [
    path("policies/", views.policy_list, name="policy_list"),
    path("policies/<str:key>/", views.policy_detail, name="policy_detail"),
    path("policies/<str:key>/v/<int:number>/", views.policy_version, name="policy_version"),
    path("policies/<str:key>/v/<int:number>/retire/", views.policy_retire, name="policy_retire"),
    path("policies/<str:key>/v/<int:number>/case/", views.policy_case_action, name="policy_case_action"),
    path("policies/<str:key>/diff/", views.policy_diff, name="policy_diff"),
    path("policies/<str:key>/propose/", views.policy_propose, name="policy_propose"),
]
