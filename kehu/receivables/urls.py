from django.urls import path

from kehu.receivables import views

urlpatterns = [
    path("credit/ledger/<int:customer_id>/", views.ledger, name="receivables_ledger"),
    path("credit/ledger/<int:customer_id>/post/<slug:kind>/", views.post_entry, name="receivables_post"),
    path("credit/ledger/<int:customer_id>/deposits/new/", views.deposit_new, name="receivables_deposit_new"),
    path(
        "credit/ledger/deposits/<int:deposit_id>/release/",
        views.deposit_release,
        name="receivables_deposit_release",
    ),
    path("credit/ledger/entries/<int:entry_id>/reverse/", views.reverse_entry, name="receivables_reverse"),
    path("credit/ledger/import/", views.ledger_import, name="receivables_import"),
    path("credit/ageing/", views.ageing, name="receivables_ageing"),
    path("credit/exposure/", views.exposure_list, name="receivables_exposure"),
    path("credit/collections/", views.collections_all, name="receivables_collections_all"),
    path("credit/collections/<int:customer_id>/", views.collections_view, name="receivables_collections"),
    path("credit/statement/<int:customer_id>/", views.statement, name="receivables_statement"),
    path("credit/collection-reports/new/<int:customer_id>/", views.report_new, name="receivables_report_new"),
    path("credit/collection-reports/<int:report_id>/", views.report_detail, name="receivables_report"),
    path("credit/write-offs/", views.writeoff_list, name="receivables_writeoffs"),
    path("credit/write-offs/new/<int:customer_id>/", views.writeoff_new, name="receivables_writeoff_new"),
    path("credit/write-offs/<int:write_off_id>/", views.writeoff_detail, name="receivables_writeoff"),
]
