from django.urls import path

from luoshi.supervision import views

app_name = "supervision"

urlpatterns = [
    # urging and escalation ---------------------------------------------------------------------------
    path("items/<int:pk>/urge/", views.UrgeItemView.as_view(), name="urge_item"),
    path("urges/bulk/", views.BulkUrgeView.as_view(), name="urge_bulk"),
    path("urges/", views.UrgeListView.as_view(), name="urge_list"),
    path(
        "ledgers/<int:ledger_pk>/escalation/", views.EscalationPolicyView.as_view(), name="escalation_policy"
    ),
    # orders and notices --------------------------------------------------------------------------------
    path("orders/", views.OrderListView.as_view(), name="order_list"),
    path("orders/new/", views.OrderIssueView.as_view(), name="order_create"),
    path("orders/<int:pk>/", views.OrderDetailView.as_view(), name="order_detail"),
    path("orders/<int:pk>/reply/", views.OrderReplyView.as_view(), name="order_reply"),
    path("orders/<int:pk>/action/", views.order_action, name="order_action"),
    path("orders/<int:pk>/document.docx", views.OrderDocumentView.as_view(), name="order_document"),
    path("orders/evidence/<int:pk>/", views.order_evidence_download, name="order_evidence"),
    # interviews and accountability ----------------------------------------------------------------------
    path("interviews/", views.InterviewListView.as_view(), name="interview_list"),
    path("interviews/new/", views.InterviewEditView.as_view(), name="interview_create"),
    path("interviews/<int:pk>/", views.InterviewDetailView.as_view(), name="interview_detail"),
    path("interviews/<int:pk>/edit/", views.InterviewEditView.as_view(), name="interview_edit"),
    path("accountability/", views.AccountabilityListView.as_view(), name="accountability_list"),
    path("accountability/new/", views.AccountabilityEditView.as_view(), name="accountability_create"),
    path("accountability/<int:pk>/", views.AccountabilityDetailView.as_view(), name="accountability_detail"),
    path("accountability/<int:pk>/edit/", views.AccountabilityEditView.as_view(), name="accountability_edit"),
    # inspections and rectification ----------------------------------------------------------------------
    path("inspections/", views.InspectionListView.as_view(), name="inspection_list"),
    path("inspections/new/", views.InspectionEditView.as_view(), name="inspection_create"),
    path("inspections/<int:pk>/", views.InspectionDetailView.as_view(), name="inspection_detail"),
    path("inspections/<int:pk>/edit/", views.InspectionEditView.as_view(), name="inspection_edit"),
    path("inspections/<int:pk>/done/", views.inspection_done, name="inspection_done"),
    path("inspections/<int:pk>/findings/new/", views.FindingCreateView.as_view(), name="finding_create"),
    path("findings/<int:pk>/assign/", views.AssignProblemView.as_view(), name="finding_assign"),
    path("findings/<int:pk>/verify/", views.VerifyRectificationView.as_view(), name="finding_verify"),
    path("findings/<int:pk>/close/", views.finding_close, name="finding_close"),
    path("findings/photos/<int:pk>/", views.finding_photo, name="finding_photo"),
    path("rectification/", views.RectificationOverviewView.as_view(), name="rectification_overview"),
    # instructions -------------------------------------------------------------------------------------------
    path(
        "items/<int:item_pk>/instructions/new/",
        views.InstructionCreateView.as_view(),
        name="instruction_create",
    ),
    path("instructions/mine/", views.WrittenInstructionListView.as_view(), name="instruction_written"),
    path("instructions/inbox/", views.ReceivedInstructionListView.as_view(), name="instruction_received"),
    path("instructions/<int:pk>/", views.InstructionDetailView.as_view(), name="instruction_detail"),
    path("instructions/<int:pk>/acknowledge/", views.instruction_acknowledge, name="instruction_acknowledge"),
    path("instructions/<int:pk>/close/", views.instruction_close, name="instruction_close"),
]
