"""Finding the units and leaders an imported cell names.

A directory is built once per import from one queryset (a fixed number of queries however
many units there are) and then answers every cell from memory. A name is looked up by its
normalised form (``luoshi.exchange.text``) under every name a unit goes by: full name, short
name and each alias. A name two units share is ambiguous: ``resolve`` gives nothing and the
error message lists both, so that the user writes the full name.
"""

import difflib
import functools
import re

from django.db.models import Prefetch
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from luoshi.core.text import pinyin_initials
from luoshi.exchange.text import normalise, person_name
from luoshi.orgs.models import Membership, Organisation, Role, User

_SUGGESTION_CUTOFF = 0.5
_ALIAS_SEPARATORS = re.compile(r"[,，、;；]")
_SPACES = re.compile(r"\s+")
_BRACKETS = str.maketrans("()", "（）")
# Groups rather than units: 各街道, 各镇（街道）, 区直有关部门, 沿河各村, 各有关单位.
_COLLECTIVE = re.compile(r"各|[有相]关(?:单位|部门)|成员单位")


@functools.lru_cache(maxsize=65536)
def match_key(name: str | None) -> str:
    """The form names are compared in: normalised, without spaces, with full-width brackets."""
    return _SPACES.sub("", normalise(name)).translate(_BRACKETS)


def is_collective(name: str | None) -> bool:
    """Whether ``name`` names a group of units (各街道, 各有关单位) rather than one unit."""
    return bool(_COLLECTIVE.search(normalise(name)))


class _Directory:
    """Names → objects, with suggestions for the names that match nothing."""

    noun = ""  # what the directory holds, for messages

    def __init__(self, objects):
        self._by_key: dict[str, list] = {}
        for obj in objects:
            for key in dict.fromkeys(match_key(name) for name in self.names_of(obj)):
                if key:
                    self._by_key.setdefault(key, []).append(obj)

    def names_of(self, obj) -> list[str]:
        raise NotImplementedError

    def label(self, obj) -> str:
        raise NotImplementedError

    def key_of(self, text: str | None) -> str:
        return match_key(text)

    def matches(self, text: str | None) -> list:
        """Every object ``text`` names exactly (more than one: the name is ambiguous)."""
        return list(self._by_key.get(self.key_of(text), []))

    def resolve(self, text: str | None):
        """The one object ``text`` names, or ``None`` if it names none or several."""
        found = self.matches(text)
        return found[0] if len(found) == 1 else None

    @functools.cached_property
    def _candidates(self) -> list[tuple[str, str, object]]:
        # Pinyin is computed only when a name fails to match, and then once per import.
        return [(key, pinyin_initials(key), obj) for key, objs in self._by_key.items() for obj in objs]

    def suggestions(self, text: str | None, limit: int = 3) -> list:
        """The closest objects to ``text``: the ambiguous ones first, then by similarity.

        Similarity is the best ``difflib`` ratio of the name, or of its pinyin initials, to any
        name the object goes by, so 区发改局 finds 区发展和改革局 and qfgj finds 区发改局.
        """
        key = self.key_of(text)
        if not key:
            return []
        exact = self.matches(text)
        initials = pinyin_initials(key)
        scores: dict[int, tuple[float, object]] = {}
        for candidate, candidate_initials, obj in self._candidates:
            score = max(
                difflib.SequenceMatcher(None, key, candidate).ratio(),
                difflib.SequenceMatcher(None, initials, candidate_initials).ratio(),
            )
            if score >= _SUGGESTION_CUTOFF and score > scores.get(obj.pk, (0.0, None))[0]:
                scores[obj.pk] = (score, obj)
        ranked = [obj for _score, obj in sorted(scores.values(), key=lambda pair: -pair[0])]
        return (exact + [obj for obj in ranked if obj not in exact])[: max(limit, len(exact))]

    def error_message(self, text: str | None) -> str | None:
        """Why ``text`` does not resolve, in words for the user; ``None`` if it does."""
        if self.resolve(text) is not None:
            return None
        shown = normalise(text)
        if len(self.matches(text)) > 1:
            return _("%(noun)s「%(name)s」不唯一，可能是：%(choices)s。请写全称。") % {
                "noun": self.noun,
                "name": shown,
                "choices": "、".join(self.label(obj) for obj in self.matches(text)),
            }
        suggestions = self.suggestions(text)
        if suggestions:
            return _("找不到%(noun)s「%(name)s」。是否是：%(choices)s？") % {
                "noun": self.noun,
                "name": shown,
                "choices": "、".join(self.label(obj) for obj in suggestions),
            }
        return _("找不到%(noun)s「%(name)s」，请检查名称。") % {"noun": self.noun, "name": shown}


def _alias_list(aliases: str) -> list[str]:
    return [alias for alias in _ALIAS_SEPARATORS.split(aliases or "") if alias.strip()]


class UnitDirectory(_Directory):
    """Active units by full name, short name and alias.

    ``UnitDirectory.from_queryset(Organisation.objects.visible_to(user))``, once per import.
    """

    noun = gettext_lazy("单位")

    @classmethod
    def from_queryset(cls, queryset=None) -> "UnitDirectory":
        """One query; inactive units are never matched. Default: every active unit."""
        queryset = Organisation.objects.all() if queryset is None else queryset
        return cls(queryset.filter(is_active=True).only("pk", "name", "short_name", "aliases"))

    def names_of(self, org: Organisation) -> list[str]:
        return [org.name, org.short_name, *_alias_list(org.aliases)]

    def label(self, org: Organisation) -> str:
        return org.name


class LeaderDirectory(_Directory):
    """Active users holding a leader role, by full name; the post typed with the name is ignored."""

    noun = gettext_lazy("领导")

    @classmethod
    def from_queryset(cls, queryset=None) -> "LeaderDirectory":
        """Two queries: the leaders, and their leader posts for telling namesakes apart."""
        queryset = User.objects.all() if queryset is None else queryset
        posts = Membership.objects.filter(role=Role.LEADER).select_related("organisation")
        leaders = (
            queryset.filter(is_active=True, pk__in=Membership.objects.filter(role=Role.LEADER).values("user"))
            .order_by("pinyin", "pk")
            .only("pk", "full_name")
            .prefetch_related(Prefetch("memberships", queryset=posts, to_attr="leader_posts"))
        )
        return cls(leaders)

    def names_of(self, user: User) -> list[str]:
        return [user.full_name]

    def key_of(self, text: str | None) -> str:
        return match_key(person_name(text)[0])

    def label(self, user: User) -> str:
        where = "、".join(
            f"{post.organisation.display_name}{post.title}" for post in getattr(user, "leader_posts", [])
        )
        return f"{user.full_name}（{where}）" if where else user.full_name
