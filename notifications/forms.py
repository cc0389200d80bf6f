from django import forms

from notifications.models import NotificationPreference


class PreferenceForm(forms.Form):
    email = forms.ChoiceField(
        choices=NotificationPreference.Email.choices,
        widget=forms.RadioSelect,
        label="E-mail me",
    )
