from django.urls import path

from luoshi.ledgers import views

app_name = "ledgers"

urlpatterns = [
    path("my-work/", views.MyWorkView.as_view(), name="my_work"),
    path("ledgers/", views.LedgerListView.as_view(), name="ledger_list"),
    path("ledgers/new/", views.LedgerEditView.as_view(), name="ledger_create"),
    path("ledgers/<int:pk>/", views.LedgerDetailView.as_view(), name="ledger_detail"),
    path("ledgers/<int:pk>/edit/", views.LedgerEditView.as_view(), name="ledger_edit"),
    path("ledgers/<int:pk>/settings/", views.LedgerSettingsView.as_view(), name="ledger_settings"),
    path(
        "ledgers/<int:ledger_pk>/fields/new/", views.LedgerFieldEditView.as_view(), name="ledger_field_create"
    ),
    path("fields/<int:pk>/edit/", views.LedgerFieldEditView.as_view(), name="ledger_field_edit"),
    path("fields/<int:pk>/delete/", views.LedgerFieldDeleteView.as_view(), name="ledger_field_delete"),
    path("tags/new/", views.TagCreateView.as_view(), name="tag_create"),
    path("ledgers/<int:ledger_pk>/items/new/", views.ItemEditView.as_view(), name="item_create"),
    path("items/", views.ItemListView.as_view(), name="item_list"),
    path("items/bulk/", views.ItemBulkActionView.as_view(), name="item_bulk"),
    path("items/autocomplete/", views.item_autocomplete, name="item_autocomplete"),
    path("items/filters/", views.SavedFilterView.as_view(), name="saved_filter_save"),
    path("items/filters/<int:pk>/delete/", views.saved_filter_delete, name="saved_filter_delete"),
    path("items/<int:pk>/", views.ItemDetailView.as_view(), name="item_detail"),
    path("items/<int:pk>/edit/", views.ItemEditView.as_view(), name="item_edit"),
    path("items/<int:pk>/transition/", views.item_transition, name="item_transition"),
    path("items/<int:pk>/comment/", views.item_comment, name="item_comment"),
    path("items/<int:pk>/milestones/", views.item_milestones, name="item_milestones"),
    path("milestones/<int:pk>/edit/", views.milestone_edit, name="milestone_edit"),
    path("milestones/<int:pk>/complete/", views.milestone_complete, name="milestone_complete"),
    path("items/<int:pk>/extension/", views.extension_request, name="extension_request"),
    path("items/<int:item_pk>/report/", views.ReportEditView.as_view(), name="report_create"),
    path("reports/<int:pk>/edit/", views.ReportEditView.as_view(), name="report_edit"),
    path("reports/<int:pk>/review/", views.report_review, name="report_review"),
    path("extensions/<int:pk>/decide/", views.extension_decide, name="extension_decide"),
    path("evidence/<int:pk>/", views.evidence_download, name="evidence_download"),
    path("items/<int:pk>/attachments/", views.attachment_upload, name="attachment_upload"),
    path("attachments/<int:pk>/", views.attachment_download, name="attachment_download"),
    path("attachments/<int:pk>/delete/", views.attachment_delete, name="attachment_delete"),
]
