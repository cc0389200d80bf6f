"""Forms for the dashboard's upload page and the rep actions on an asset."""

from __future__ import annotations

from django import forms
from django.conf import settings

from analytics.models import AssetFeedback, Deal


class ImportForm(forms.Form):
    file = forms.FileField(help_text="A Salesforce report export: CSV (any delimiter) or XLSX.")
    kind = forms.ChoiceField(
        choices=[("deals", "Opportunities"), ("history", "Opportunity history")],
        initial="deals",
    )
    mapping = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="Extra header mappings, one per line, e.g. 'Deal Ref = external_id'.",
    )
    date_order = forms.ChoiceField(
        choices=[("auto", "Automatic"), ("mdy", "Month first"), ("dmy", "Day first")],
        initial="auto",
    )
    dry_run = forms.BooleanField(required=False, label="Dry run (show what would change)")

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if not upload.name.lower().endswith((".csv", ".txt", ".xlsx")):
            raise forms.ValidationError("Upload a .csv or .xlsx file.")
        if upload.size > settings.MAX_UPLOAD_MB * 1024 * 1024:
            raise forms.ValidationError(f"The file is larger than {settings.MAX_UPLOAD_MB} MB.")
        return upload


class DealForm(forms.Form):
    """Pick one of the rep's own open deals."""

    deal = forms.ModelChoiceField(queryset=Deal.objects.none(), empty_label=None)

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["deal"].queryset = Deal.objects.filter(
            owner=user, outcome=Deal.Outcome.OPEN
        ).order_by("name")


class FeedbackForm(forms.Form):
    kind = forms.ChoiceField(choices=AssetFeedback.Kind.choices)
    text = forms.CharField(required=False, max_length=2000, widget=forms.Textarea)


class ShareForm(DealForm):
    """One of the rep's open deals and, optionally, who the link is for."""

    recipient_note = forms.CharField(
        required=False,
        max_length=200,
        label="For",
        help_text="Who you are sending it to, so you can tell your links apart.",
    )
