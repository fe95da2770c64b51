from django.urls import path

from luoshi.exchange import views

app_name = "exchange"

urlpatterns = [
    # import ----------------------------------------------------------------------------------------
    path("ledgers/<int:pk>/import/", views.ImportUploadView.as_view(), name="import_upload"),
    path("imports/<int:pk>/", views.ImportPreviewView.as_view(), name="import_preview"),
    path("imports/<int:pk>/columns/", views.ImportColumnsView.as_view(), name="import_columns"),
    path("imports/<int:pk>/names/", views.ImportNamesView.as_view(), name="import_names"),
    path("imports/<int:pk>/confirm/", views.ImportConfirmView.as_view(), name="import_confirm"),
    # export ----------------------------------------------------------------------------------------
    path("ledgers/<int:pk>/export.xlsx", views.LedgerExportView.as_view(), name="ledger_export"),
    path("items/export.xlsx", views.ItemListExportView.as_view(), name="item_list_export"),
    path("ledgers/<int:pk>/template.xlsx", views.LedgerTemplateView.as_view(), name="ledger_template"),
    path("exports/", views.ExportListView.as_view(), name="export_list"),
    path("exports/<int:pk>/download.xlsx", views.ExportDownloadView.as_view(), name="export_download"),
    # outline ---------------------------------------------------------------------------------------
    path("ledgers/<int:pk>/outline/", views.OutlineStartView.as_view(), name="outline_start"),
    path("outlines/<int:pk>/", views.OutlineEditorView.as_view(), name="outline_editor"),
    path("outlines/<int:pk>/save/", views.OutlineSaveView.as_view(), name="outline_save"),
    # briefing --------------------------------------------------------------------------------------
    path("ledgers/<int:pk>/briefing.docx", views.LedgerBriefingView.as_view(), name="ledger_briefing"),
    path("items/briefing.docx", views.ItemListBriefingView.as_view(), name="item_list_briefing"),
]
