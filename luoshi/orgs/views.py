from django.contrib.auth.decorators import login_required
from django.http import JsonResponse

from luoshi.orgs import selectors
from luoshi.orgs.models import Role

AUTOCOMPLETE_LIMIT = 20


@login_required
def org_autocomplete(request):
    term = request.GET.get("q", "").strip()
    orgs = selectors.organisation_list(search=term).filter(is_active=True).order_by("path")
    return JsonResponse(
        {
            "results": [
                {"value": org.pk, "text": org.name} for org in orgs.only("id", "name")[:AUTOCOMPLETE_LIMIT]
            ]
        }
    )


def _people(request, queryset):
    term = request.GET.get("q", "").strip()
    people = queryset.filter(pk__in=selectors.user_list(search=term).filter(is_active=True).values("pk"))
    return JsonResponse(
        {
            "results": [
                {"value": person.pk, "text": str(person)}
                for person in people.only("id", "full_name", "username")[:AUTOCOMPLETE_LIMIT]
            ]
        }
    )


@login_required
def user_autocomplete(request):
    return _people(request, selectors.user_list().filter(is_active=True))


@login_required
def leader_autocomplete(request):
    return _people(request, selectors.people_with_role(Role.LEADER))
