from django.urls import path

from luoshi.assessment import views

app_name = "assessment"

urlpatterns = [
    # schemes and what they are made of ---------------------------------------------------------------
    path("", views.SchemeListView.as_view(), name="scheme_list"),
    path("schemes/new/", views.SchemeEditView.as_view(), name="scheme_create"),
    path("schemes/<int:pk>/", views.SchemeDetailView.as_view(), name="scheme_detail"),
    path("schemes/<int:pk>/edit/", views.SchemeEditView.as_view(), name="scheme_edit"),
    path("schemes/<int:scheme_pk>/groups/new/", views.GroupEditView.as_view(), name="group_create"),
    path("groups/<int:pk>/edit/", views.GroupEditView.as_view(), name="group_edit"),
    path(
        "schemes/<int:scheme_pk>/indicators/new/", views.IndicatorEditView.as_view(), name="indicator_create"
    ),
    path("indicators/<int:pk>/edit/", views.IndicatorEditView.as_view(), name="indicator_edit"),
    path("indicators/<int:pk>/delete/", views.indicator_delete, name="indicator_delete"),
    path("schemes/<int:scheme_pk>/books/new/", views.BookEditView.as_view(), name="book_create"),
    path("books/<int:pk>/edit/", views.BookEditView.as_view(), name="book_edit"),
    path("books/copies/<int:pk>/", views.book_copy, name="book_copy"),
    path("schemes/<int:scheme_pk>/periods/new/", views.PeriodCreateView.as_view(), name="period_create"),
    # periods ------------------------------------------------------------------------------------------
    path("periods/<int:pk>/", views.PeriodDetailView.as_view(), name="period_detail"),
    path("periods/<int:pk>/run/", views.period_run, name="period_run"),
    path("periods/<int:pk>/publicise/", views.period_publicise, name="period_publicise"),
    path("periods/<int:pk>/publish/", views.period_publish, name="period_publish"),
    path("periods/<int:period_pk>/manual/new/", views.ManualScoreEditView.as_view(), name="manual_create"),
    path("manual/<int:pk>/edit/", views.ManualScoreEditView.as_view(), name="manual_edit"),
    path("manual/<int:pk>/review/", views.manual_review, name="manual_review"),
    path("manual/evidence/<int:pk>/", views.manual_evidence, name="manual_evidence"),
    path(
        "periods/<int:period_pk>/objections/new/",
        views.ObjectionCreateView.as_view(),
        name="objection_create",
    ),
    path("objections/<int:pk>/answer/", views.ObjectionAnswerView.as_view(), name="objection_answer"),
    path(
        "periods/<int:period_pk>/adjustments/new/",
        views.AdjustmentCreateView.as_view(),
        name="adjustment_create",
    ),
    # runs -------------------------------------------------------------------------------------------------
    path("scores/<int:pk>/", views.BreakdownView.as_view(), name="breakdown"),
    path("runs/<int:pk>/changes/", views.RunChangesView.as_view(), name="run_changes"),
    path("runs/<int:pk>/notice.docx", views.NoticeView.as_view(), name="notice"),
    path("runs/<int:pk>/ranking.xlsx", views.RankingWorkbookView.as_view(), name="ranking_workbook"),
]
