"""Generic views every module builds on: role-gated, scoped lists with filters, tables and htmx.

A module's view names its selector (who may see what), filter set, table and template;
scoping, pagination, htmx partial rendering and 404-outside-scope come from here.
"""

from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.exceptions import ImproperlyConfigured, ValidationError
from django.http import Http404, JsonResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe
from django_filters.views import FilterView
from django_tables2 import SingleTableMixin

from luoshi.core.health import health
from luoshi.orgs.selectors import access_profile

PER_PAGE_CHOICES = (25, 50, 100)


class RoleRequiredMixin(LoginRequiredMixin):
    """Limits a view to users holding one of ``required_roles``; others get 404 so the URL tells nothing."""

    required_roles: frozenset[str] = frozenset()

    def dispatch(self, request, *args, **kwargs):
        if not request.user.is_authenticated:
            return self.handle_no_permission()
        if self.required_roles and not (access_profile(request.user).roles & set(self.required_roles)):
            raise Http404
        return super().dispatch(request, *args, **kwargs)


class ObjectListView(RoleRequiredMixin, SingleTableMixin, FilterView):
    """A filtered, sorted, paginated table; an htmx request gets only the table partial."""

    template_name = "core/object_list.html"
    partial_name = "results"
    paginate_by = 50
    title = ""

    def get_queryset(self):
        raise ImproperlyConfigured(f"{type(self).__name__} must say where its objects come from")

    def get_paginate_by(self, table_data):
        try:
            per_page = int(self.request.GET.get("per_page", self.paginate_by))
        except ValueError:
            per_page = self.paginate_by
        return per_page if per_page in PER_PAGE_CHOICES else self.paginate_by

    def paginate_queryset(self, queryset, page_size):
        # The table paginates (and counts) the rows; ListView doing it too would count them twice.
        return None, None, False, queryset

    def get_template_names(self):
        names = super().get_template_names()
        if self.request.htmx and not self.request.htmx.boosted:
            return [f"{name}#{self.partial_name}" for name in names]
        return names

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["title"] = self.title
        context["per_page_choices"] = PER_PAGE_CHOICES
        return context


class ServiceFormMixin:
    """Runs a service from a valid form; a ``ValidationError`` lands on the form, next to its field."""

    @staticmethod
    def stale_response(request, template_name, context, form, stored):
        """Someone else saved ``stored`` first: the form keeps this writer's input and now carries the
        stored version (resubmitting applies it over what they have seen), answered with status 409."""
        form.data = form.data.copy()
        form.data["version"] = str(stored.version)
        return render(request, template_name, {**context, "form": form, "stale": stored}, status=409)

    def run_service(self, form, call):
        try:
            return call()
        except ValidationError as error:
            if hasattr(error, "error_dict"):
                for field, messages_ in error.message_dict.items():
                    form.add_error(field if field in form.fields else None, messages_)
            else:
                form.add_error(None, error.messages)
            return None


@require_safe
@never_cache
def healthz(request):
    """For load balancers and monitoring: no sign-in, no session, only status words (503 when failing)."""
    report = health()
    return JsonResponse(report, status=200 if report["status"] == "ok" else 503)
