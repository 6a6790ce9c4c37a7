from django.urls import path

from kehu.orders import views

urlpatterns = [
    path("orders/", views.order_list, name="orders_list"),
    path("orders/new/", views.order_new, name="orders_new"),
    path("orders/check/", views.order_live_check, name="orders_live_check"),
    path("orders/customers/", views.customer_search, name="orders_customer_search"),
    path("orders/customers/pick/", views.customer_pick, name="orders_customer_pick"),
    path("orders/holds/", views.hold_list, name="orders_holds"),
    path("orders/open/", views.open_orders, name="orders_open"),
    path("orders/errors/", views.error_report, name="orders_errors"),
    path("orders/errors/entries/", views.error_entries, name="orders_error_entries"),
    path("orders/import/", views.order_import, name="orders_import"),
    path("orders/import/template/", views.order_import_template, name="orders_import_template"),
    path("orders/products/", views.product_list, name="orders_products"),
    path("orders/<int:pk>/", views.order_detail, name="orders_detail"),
    path("orders/<int:pk>/edit/", views.order_edit, name="orders_edit"),
    path("orders/<int:pk>/action/<str:action>/", views.order_action, name="orders_action"),
    path("orders/<int:pk>/review/<str:transition>/", views.order_review, name="orders_review"),
    path("orders/<int:pk>/execute/<str:step>/", views.order_execute, name="orders_execute"),
]
