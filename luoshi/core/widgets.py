from django import forms


class AutocompleteMixin:
    """A select that renders only the chosen options; Tom Select fetches the rest as the user types.

    Keeps pages small when the choices are thousands of units or people.
    """

    def __init__(self, url_name: str, attrs=None, **kwargs):
        self.url_name = url_name
        super().__init__(attrs=attrs, **kwargs)

    def get_context(self, name, value, attrs):
        from django.urls import reverse

        attrs = {**(attrs or {}), "data-autocomplete-url": reverse(self.url_name)}
        return super().get_context(name, value, attrs)

    def optgroups(self, name, value, attrs=None):
        chosen = {str(v) for v in value if v not in (None, "")}
        queryset = getattr(self.choices, "queryset", None)
        if queryset is None or not chosen:
            return []
        options = []
        for index, obj in enumerate(queryset.filter(pk__in=chosen)):
            option = self.create_option(name, obj.pk, str(obj), True, index, attrs=attrs)
            options.append((None, [option], index))
        return options


class AutocompleteSelect(AutocompleteMixin, forms.Select):
    pass


class AutocompleteSelectMultiple(AutocompleteMixin, forms.SelectMultiple):
    pass
