from urllib.parse import urlencode

from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.generic import TemplateView

from luoshi.assessment import selectors as assessment
from luoshi.core.views import RoleRequiredMixin
from luoshi.dashboards import selectors
from luoshi.dashboards.forms import BattleMapFilterForm
from luoshi.ledgers.models import DONE_STATUSES, ItemStatus, ScheduleCategory, WarningColor
from luoshi.orgs.models import Role

BUSINESS_ROLES = frozenset({Role.SUPERVISOR, Role.LEADER, Role.LIAISON, Role.HANDLER})

# Tabler's palette, so the charts match the badges in the item list.
COLOR_HEX = {
    WarningColor.RED: "#d63939",
    WarningColor.YELLOW: "#f59f00",
    WarningColor.GREEN: "#2fb344",
    WarningColor.NOT_STARTED: "#9ba9be",
    WarningColor.DONE: "#206bc4",
    WarningColor.SUSPENDED: "#1d273b",
}
SCHEDULE_HEX = {
    ScheduleCategory.DONE: "#206bc4",
    ScheduleCategory.ON_SCHEDULE: "#2fb344",
    ScheduleCategory.BEHIND: "#d63939",
    ScheduleCategory.NOT_STARTED: "#9ba9be",
}


class BattleMapView(RoleRequiredMixin, TemplateView):
    """挂图作战: where the items a user can see stand, each figure a link to the items behind it."""

    required_roles = BUSINESS_ROLES
    template_name = "dashboards/battle_map.html"

    def get_context_data(self, **kwargs):
        user = self.request.user
        form = BattleMapFilterForm(self.request.GET or None, user=user)
        ledger, year = None, None
        if form.is_bound and form.is_valid():
            ledger, year = form.cleaned_data["ledger"], form.cleaned_data["year"]
        year = year or (ledger.year if ledger else timezone.localdate().year)
        data = selectors.battle_map(user, ledger=ledger, year=year)
        base = {"ledger": ledger.pk} if ledger else {}

        def drill(**params):
            query = urlencode({**base, **params}, doseq=True)
            return f"{reverse('ledgers:item_list')}?{query}" if query else reverse("ledgers:item_list")

        colors = [
            {
                "key": key,
                "label": label,
                "count": data.by_color.get(key, 0),
                "url": drill(color=[key]),
                "hex": COLOR_HEX[key],
            }
            for key, label in WarningColor.choices
        ]
        statuses = [
            {"key": key, "label": label, "count": data.by_status.get(key, 0), "url": drill(status=[key])}
            for key, label in ItemStatus.choices
        ]
        schedule = [
            {
                "key": key,
                "label": key.label,
                "count": data.by_schedule.get(key, 0),
                "url": drill(schedule=[key]),
                "hex": SCHEDULE_HEX[key],
            }
            for key in selectors.SCHEDULE_CATEGORIES
        ]
        units = [
            {"row": row, "url": drill(lead_org=row.org_id, status=[str(s) for s in DONE_STATUSES])}
            for row in data.units
        ]
        months = []
        for row in data.months:
            window = {"deadline_after": row.month.isoformat(), "deadline_before": row.last_day.isoformat()}
            months.append(
                {
                    "label": _("%(m)d月") % {"m": row.month.month},
                    "total": row.total,
                    "url": drill(**window),
                    "segments": [
                        {"key": key, "count": row.by_color.get(key, 0), "url": drill(color=[key], **window)}
                        for key in WarningColor.values
                    ],
                }
            )
        chart_data = {
            "colors": [
                {"name": c["label"], "value": c["count"], "url": c["url"], "color": c["hex"]} for c in colors
            ],
            "statuses": [{"name": s["label"], "value": s["count"], "url": s["url"]} for s in statuses],
            "schedule": [
                {"name": s["label"], "value": s["count"], "url": s["url"], "color": s["hex"]}
                for s in schedule
            ],
            "units": [
                {
                    "name": u["row"].name,
                    "value": u["row"].rate,
                    "done": u["row"].done,
                    "onTime": u["row"].on_time,
                    "url": u["url"],
                }
                for u in units
            ],
            "months": {
                "labels": [m["label"] for m in months],
                "series": [
                    {
                        "name": label,
                        "color": COLOR_HEX[key],
                        "data": [
                            {"value": m["segments"][index]["count"], "url": m["segments"][index]["url"]}
                            for m in months
                        ],
                    }
                    for index, (key, label) in enumerate(WarningColor.choices)
                ],
            },
            "labels": {"rate": _("按时办结率（%）"), "done": _("已办结"), "onTime": _("按时办结")},
        }
        assessed = assessment.latest_published(user)
        rankings = assessment.ranking(assessed.published_run) if assessed else []
        return {
            **super().get_context_data(**kwargs),
            "assessed": assessed,
            "rankings": rankings,
            "ranking_chart": assessment.ranking_chart(rankings),
            "title": _("挂图作战"),
            "form": form,
            "ledger": ledger,
            "year": year,
            "prev_year_url": "?" + urlencode({**base, "year": year - 1}),
            "next_year_url": "?" + urlencode({**base, "year": year + 1}),
            "total": data.total,
            "all_url": drill(),
            "colors": colors,
            "statuses": statuses,
            "schedule": schedule,
            "units": units,
            "months": months,
            "month_colors": WarningColor.choices,
            "instructions": {
                "open": data.open_instructions,
                "items": data.items_with_instructions,
                "url": drill(sort="-open_instructions"),
            },
            "chart_data": chart_data,
        }
