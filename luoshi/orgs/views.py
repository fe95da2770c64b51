from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Count, Prefetch
from django.http import Http404, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views import View
from django.views.generic import TemplateView

from luoshi.core.views import ObjectListView, RoleRequiredMixin, ServiceFormMixin
from luoshi.orgs import selectors, services
from luoshi.orgs.filters import OrganisationFilterSet, UserFilterSet
from luoshi.orgs.forms import (
    GrantRoleForm,
    LeaderChargesForm,
    OrganisationEditForm,
    OrganisationForm,
    UserForm,
)
from luoshi.orgs.models import ADMIN_ROLES, LeaderCharge, Membership, Organisation, Role, User
from luoshi.orgs.selectors import access_profile
from luoshi.orgs.tables import OrganisationTable, UserTable

AUTOCOMPLETE_LIMIT = 20

# 三员分立: the system admin keeps units and accounts, the security admin alone gives and takes roles.
SYSTEM_ADMIN = frozenset({Role.SYSTEM_ADMIN})
SECURITY_ADMIN = frozenset({Role.SECURITY_ADMIN})
# The people list serves both: accounts for the one, roles for the other.
ACCOUNT_ADMINS = SYSTEM_ADMIN | SECURITY_ADMIN


# Autocomplete (any signed-in user) -----------------------------------------------------------


@login_required
def org_autocomplete(request):
    term = request.GET.get("q", "").strip()
    orgs = selectors.organisation_list(search=term).filter(is_active=True).order_by("path")
    return JsonResponse(
        {
            "results": [
                {"value": org.pk, "text": org.name}
                for org in orgs.select_related(None).only("id", "name")[:AUTOCOMPLETE_LIMIT]
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


# Admin landing page --------------------------------------------------------------------------


class AdminHomeView(RoleRequiredMixin, TemplateView):
    """Where the navbar's 系统管理 leads: each admin lands on the screen of their own duty."""

    required_roles = ADMIN_ROLES
    template_name = "orgs/home.html"

    def get(self, request, *args, **kwargs):
        roles = access_profile(request.user).roles
        if Role.SYSTEM_ADMIN in roles:
            return super().get(request, *args, **kwargs)
        if Role.SECURITY_ADMIN in roles:
            return redirect("orgs:user_list")
        return redirect("audit:event_list")

    def get_context_data(self, **kwargs):
        return {
            **super().get_context_data(**kwargs),
            "title": _("系统管理"),
            "counts": {
                "organisations": Organisation.objects.filter(is_active=True).count(),
                "users": User.objects.filter(is_active=True).count(),
            },
            "role_counts": role_counts(),
        }


def role_counts():
    """People holding each role (one GROUP BY), for the landing page."""
    rows = Membership.objects.values("role").annotate(n=Count("user", distinct=True)).order_by("role")
    labels = dict(Role.choices)
    return [(labels.get(row["role"], row["role"]), row["n"]) for row in rows]


# Organisations -------------------------------------------------------------------------------


class OrganisationListView(ObjectListView):
    required_roles = SYSTEM_ADMIN
    table_class = OrganisationTable
    filterset_class = OrganisationFilterSet
    template_name = "orgs/organisation_list.html"
    title = gettext_lazy("单位管理")

    def get_queryset(self):
        return selectors.organisation_list().order_by("path")


class OrganisationEditView(RoleRequiredMixin, ServiceFormMixin, View):
    required_roles = SYSTEM_ADMIN
    template_name = "orgs/organisation_form.html"

    def get_org(self, pk):
        return None if pk is None else get_object_or_404(Organisation, pk=pk)

    @staticmethod
    def form_class(org):
        return OrganisationForm if org is None else OrganisationEditForm

    def get(self, request, pk=None):
        org = self.get_org(pk)
        initial = {}
        if org is None and request.GET.get("parent", "").isdigit():
            initial["parent"] = request.GET["parent"]
        form = self.form_class(org)(instance=org, initial=initial)
        return render(request, self.template_name, {"form": form, "org": org})

    def post(self, request, pk=None):
        org = self.get_org(pk)
        form = self.form_class(org)(request.POST, instance=org)
        context = {"form": form, "org": org}
        if form.is_valid():
            fields = form.service_fields()
            if org is None:
                saved = self.run_service(form, lambda: services.create_organisation(**fields))
            else:
                version = form.cleaned_data["version"]
                saved = self.run_service(
                    form, lambda: services.edit_organisation(org=org, version=version, **fields)
                )
                if saved is None and Organisation.objects.filter(pk=org.pk).exclude(version=version).exists():
                    return self.stale(request, form, org)
            if saved is not None:
                messages.success(request, _("单位「%(name)s」已保存。") % {"name": saved.name})
                return redirect("orgs:organisation_list")
        return render(request, self.template_name, context)

    def stale(self, request, form, org):
        """Someone else saved first: keep this writer's input, show what is stored, and let them resubmit."""
        stored = Organisation.objects.select_related("parent").get(pk=org.pk)
        form.data = form.data.copy()
        form.data["version"] = str(stored.version)
        context = {"form": form, "org": stored, "stale": stored}
        return render(request, self.template_name, context, status=409)


# Users ---------------------------------------------------------------------------------------


class UserListView(ObjectListView):
    required_roles = ACCOUNT_ADMINS
    table_class = UserTable
    filterset_class = UserFilterSet
    template_name = "orgs/user_list.html"
    title = gettext_lazy("用户与角色")

    def get_queryset(self):
        return selectors.user_list()

    def get_table_kwargs(self):
        return {
            "can_edit": access_profile(self.request.user).has(Role.SYSTEM_ADMIN),
            "can_grant": access_profile(self.request.user).has(Role.SECURITY_ADMIN),
            "can_reveal_phone": access_profile(self.request.user).has(Role.SYSTEM_ADMIN),
        }

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["can_edit_users"] = access_profile(self.request.user).has(Role.SYSTEM_ADMIN)
        return context


class UserEditView(RoleRequiredMixin, ServiceFormMixin, View):
    required_roles = SYSTEM_ADMIN
    template_name = "orgs/user_form.html"

    def get_person(self, pk):
        return None if pk is None else get_object_or_404(User, pk=pk)

    def get(self, request, pk=None):
        person = self.get_person(pk)
        return render(request, self.template_name, {"form": UserForm(instance=person), "person": person})

    def post(self, request, pk=None):
        person = self.get_person(pk)
        form = UserForm(request.POST, instance=person)
        if form.is_valid():
            fields = form.service_fields()
            password = form.cleaned_data["password"]
            if person is not None and person.pk == request.user.pk and not fields["is_active"]:
                form.add_error("is_active", _("不能停用自己的账号。"))
                saved = None
            elif person is None:
                saved = self.run_service(form, lambda: services.create_account(password=password, **fields))
            else:
                saved = self.run_service(
                    form, lambda: services.update_account(user=person, password=password, **fields)
                )
            if saved is not None:
                messages.success(request, _("用户「%(name)s」已保存。") % {"name": saved})
                return redirect("orgs:user_list")
        return render(request, self.template_name, {"form": form, "person": person})


@login_required
def user_phone(request, pk):
    """The whole phone number, for 显示完整号码: only to a role that needs it, and audited."""
    person = get_object_or_404(User, pk=pk)
    try:
        phone = services.reveal_phone(viewer=request.user, person=person)
    except PermissionDenied:
        raise Http404 from None
    response = render(request, "orgs/_phone_revealed.html", {"person": person, "phone": phone})
    response["Cache-Control"] = "no-store"
    return response


class UserRolesView(RoleRequiredMixin, ServiceFormMixin, View):
    """One person's roles per unit, with forms to grant a role and to set a leader's areas of charge."""

    required_roles = SECURITY_ADMIN
    template_name = "orgs/user_roles.html"

    def get_person(self, pk):
        memberships = Membership.objects.select_related("organisation").order_by("organisation__path", "role")
        charges = LeaderCharge.objects.select_related("organisation").order_by("organisation__path")
        return get_object_or_404(
            User.objects.prefetch_related(
                Prefetch("memberships", queryset=memberships), Prefetch("charges", queryset=charges)
            ),
            pk=pk,
        )

    def context(self, person, grant_form=None, charges_form=None):
        memberships = list(person.memberships.all())
        charges = [charge.organisation for charge in person.charges.all()]
        return {
            "person": person,
            "memberships": memberships,
            "charges": charges,
            "is_leader": any(m.role == Role.LEADER for m in memberships),
            "is_self": person.pk == self.request.user.pk,
            "grant_form": grant_form or GrantRoleForm(),
            "charges_form": charges_form
            or LeaderChargesForm(initial={"organisations": [org.pk for org in charges]}),
        }

    def get(self, request, pk):
        person = self.get_person(pk)
        return render(request, self.template_name, self.context(person))

    def post(self, request, pk):
        person = self.get_person(pk)
        if person.pk == request.user.pk:
            messages.error(request, _("不能修改自己的角色。"))
            return redirect("orgs:user_roles", pk=person.pk)
        if request.POST.get("form") == "charges":
            return self.post_charges(request, person)
        form = GrantRoleForm(request.POST)
        if form.is_valid():
            membership = self.run_service(
                form,
                lambda: services.grant_role(
                    user=person,
                    organisation=form.cleaned_data["organisation"],
                    role=form.cleaned_data["role"],
                    title=form.cleaned_data["title"],
                ),
            )
            if membership is not None:
                messages.success(request, _("已授予：%(m)s。") % {"m": membership})
                return redirect("orgs:user_roles", pk=person.pk)
        return render(request, self.template_name, self.context(person, grant_form=form))

    def post_charges(self, request, person):
        form = LeaderChargesForm(request.POST)
        if form.is_valid():
            done = self.run_service(
                form,
                lambda: (
                    services.set_leader_charges(
                        leader=person, organisations=form.cleaned_data["organisations"]
                    )
                    or True
                ),
            )
            if done:
                messages.success(request, _("分管单位已更新。"))
                return redirect("orgs:user_roles", pk=person.pk)
        return render(request, self.template_name, self.context(person, charges_form=form))


class RevokeRoleView(RoleRequiredMixin, View):
    required_roles = SECURITY_ADMIN
    http_method_names = ["post"]

    def post(self, request, pk):
        membership = get_object_or_404(Membership.objects.select_related("user", "organisation"), pk=pk)
        if membership.user_id == request.user.pk:
            messages.error(request, _("不能修改自己的角色。"))
        else:
            try:
                services.revoke_role(membership=membership)
            except ValidationError as error:
                messages.error(request, "；".join(error.messages))
            else:
                messages.success(request, _("已撤销：%(m)s。") % {"m": membership})
        return redirect("orgs:user_roles", pk=membership.user_id)
